// A hostile FTPS server for fault-injection tests, built on the library's
// own server side (Context, Connection, IsolateSessions/ShareSessionsWith:
// it requires data connections to resume the control session, as vsftpd
// does). It serves one client at a time on 127.0.0.1 and misbehaves in the
// one way its Fault says, the first |fault_times| times it can.
#ifndef TLSESSION_TESTS_TESTING_HOSTILE_FTP_SERVER_H_
#define TLSESSION_TESTS_TESTING_HOSTILE_FTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::testing {

enum class Fault {
  kNone,
  kMalformedGreeting,     // "hello there" instead of "220 ...".
  kHugeReplyLine,         // A 10 MB reply line to USER.
  kEndlessMultiline,      // A multi-line reply to USER that never ends.
  kStall,                 // Accepts and never says anything.
  kPasvOtherHost,         // Refuses EPSV; PASV names 127.0.0.2.
  kResetDuringDownload,   // TCP reset after half of a RETR.
  kResetDuringUpload,     // TCP reset after some bytes of a STOR.
  kGarbageInDownload,     // Raw bytes inside the TLS data stream.
  kAlertInDownload,       // A fatal TLS alert in the middle of a RETR.
  kReject522,             // 522 on every data connection.
  kRefuseProtP,           // 536 to PROT P.
  kResetOnQuit,           // A TCP reset instead of 221 to QUIT.
};

class ClientHelloRecorder;

struct HostileOptions {
  Fault fault = Fault::kNone;
  int fault_times = 1000000;         // How many times the fault strikes.
  std::string file;                  // What RETR serves (any name).
  std::string cert_pem, key_pem;     // Default: the test PKI's localhost.
  size_t tls13_tickets = 2;          // Tickets after each TLS 1.3 handshake.
  ClientHelloRecorder* recorder = nullptr;  // Records every ClientHello.
};

class HostileFtpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HostileFtpServer>> Start(
      HostileOptions options);
  ~HostileFtpServer();

  uint16_t port() const { return listener_.port(); }
  // What the last STOR received, and how many data connections resumed.
  std::string uploaded() const;
  int data_connections_resumed() const { return resumed_; }
  int data_connections() const { return data_connections_; }

 private:
  HostileFtpServer(HostileOptions options, TcpListener listener,
                   std::shared_ptr<const Context> context);
  void Run();
  void Serve(OwnedFd fd);
  bool Strike();  // True when the fault strikes this time.

  HostileOptions options_;
  TcpListener listener_;
  std::shared_ptr<const Context> context_;
  std::atomic<bool> stop_{false};
  std::atomic<int> strikes_{0};
  std::atomic<int> resumed_{0};
  std::atomic<int> data_connections_{0};
  mutable std::mutex mu_;
  std::string uploaded_;  // Guarded by mu_.
  std::string huge_reply_;  // Made at Start, so tests can measure memory.
  std::thread thread_;
};

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_TESTING_HOSTILE_FTP_SERVER_H_
