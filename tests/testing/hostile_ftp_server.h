// A hostile FTPS server for fault-injection tests, built on the library's
// own server side (Context, Connection, IsolateSessions/ShareSessionsWith:
// it requires data connections to resume the control session, as vsftpd
// does). It serves one client at a time on 127.0.0.1 and misbehaves in the
// one way its Fault says, the first |fault_times| times it can.
//
// It accepts any user and password (PASS is recorded, see commands()),
// serves |file| for RETR of any path that does not contain "missing" (550
// for those), |listing| for LIST, NLST and MLSD, and keeps what STOR sends.
// It answers RNFR with 350 and RNTO with 250, or with 550 (quoting the
// argument) when the argument contains "missing".
// Data connections are TLS, or in clear when the control connection is (see
// kRefuseAuthTls) or after PROT C.
#ifndef TLSESSION_TESTS_TESTING_HOSTILE_FTP_SERVER_H_
#define TLSESSION_TESTS_TESTING_HOSTILE_FTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::testing {

enum class Fault {
  kNone,
  kMalformedGreeting,    // "hello there" instead of "220 ...".
  kHugeReplyLine,        // A 10 MB reply line to USER.
  kEndlessMultiline,     // A multi-line reply to USER that never ends.
  kStall,                // Accepts and never says anything.
  kPasvOtherHost,        // Refuses EPSV; PASV names 127.0.0.2.
  kResetDuringDownload,  // TCP reset after half of a RETR.
  kResetDuringUpload,    // TCP reset after some bytes of a STOR.
  kGarbageInDownload,    // Raw bytes inside the TLS data stream.
  kAlertInDownload,      // A fatal TLS alert in the middle of a RETR.
  kReject522,            // 522 on every data connection.
  kRefuseProtP,          // 536 to PROT P.
  kResetOnQuit,          // A TCP reset instead of 221 to QUIT.
  kRefuseAuthTls,        // 500 to AUTH TLS: the dialogue goes on in clear.
  kRejectLogin,          // 530 to PASS.
  kBadDataCertificate,   // Data connections show a certificate for
                         // "other.example" (signed by the test CA), then
                         // |data_handshake_failure_reply| when the handshake
                         // fails.
  kHugeListing,          // LIST, NLST and MLSD send 257 MiB.
};

class ClientHelloRecorder;

struct HostileOptions {
  Fault fault = Fault::kNone;
  int fault_times = 1000000;      // How many times the fault strikes.
  std::string file;               // What RETR serves (any name).
  std::string cert_pem, key_pem;  // Default: the test PKI's localhost.
  size_t tls13_tickets = 2;       // Tickets after each TLS 1.3 handshake.
  ClientHelloRecorder* recorder = nullptr;  // Records every ClientHello.
  // The greeting, one or more lines without the final CRLF (a multi-line
  // one is "220-...\r\n220 ...").
  std::string greeting = "220 hostile FTPS server";
  // What LIST, NLST and MLSD send.
  std::string listing = "file.txt\r\n";
  // The reply after a data connection's TLS handshake failed.
  std::string data_handshake_failure_reply = "425 TLS handshake failed";
  // Called, on the server's thread, with every command line read (PASS with
  // its password), before the server replies to it.
  std::function<void(const std::string&)> on_command;
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
  // Every command line read so far, in order, as received (passwords too).
  std::vector<std::string> commands() const;

 private:
  class Session;

  HostileFtpServer(HostileOptions options, TcpListener listener,
                   std::shared_ptr<const Context> context,
                   std::shared_ptr<const Context> data_context);
  void Run();
  bool Strike();  // True when the fault strikes this time.
  void Record(const std::string& line);

  HostileOptions options_;
  TcpListener listener_;
  std::shared_ptr<const Context> context_;
  // The data connections' Context: |context_|, or another certificate's.
  std::shared_ptr<const Context> data_context_;
  std::atomic<bool> stop_{false};
  std::atomic<int> strikes_{0};
  std::atomic<int> resumed_{0};
  std::atomic<int> data_connections_{0};
  mutable std::mutex mu_;
  std::string uploaded_;               // Guarded by mu_.
  std::vector<std::string> commands_;  // Guarded by mu_.
  std::string huge_reply_;  // Made at Start, so tests can measure memory.
  std::thread thread_;
};

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_TESTING_HOSTILE_FTP_SERVER_H_
