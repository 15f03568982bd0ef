// FtpsClient: an FTPS client (RFC 4217) whose data connections resume the
// control connection's TLS session, as vsftpd (require_ssl_reuse=YES) and
// ProFTPD (by default) demand; data never moves in clear unless the caller
// allows plaintext.
//
//   ClientOptions options;
//   options.tls_context = *Context::Create(ContextOptions());
//   auto ftp = FtpsClient::Connect("ftp.example.org", 21, options);
//   (*ftp)->Login("user", "password");
//   (*ftp)->DownloadFile("dir/file.bin", "/tmp/file.bin");
//
// How it uses sessions, streams and the protocol: ARCHITECTURE.md, "The lease
// path" and "The ftps tool" ("FtpsClient").
// An FtpsClient is used by one thread at a time; run several (each with its
// own control connection) for parallel transfers.
#ifndef TLSESSION_FTP_ADAPTER_FTPS_CLIENT_H_
#define TLSESSION_FTP_ADAPTER_FTPS_CLIENT_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ftp_adapter/mlsd.h"
#include "ftp_adapter/reply.h"
#include "tls/connection.h"
#include "tls/context.h"
#include "tls/socket.h"
#include "tls/stream.h"
#include "tls/tcp_stream.h"

namespace tlsession::ftp {

class ControlChannel;   // control_channel.h, private to this library.
class DataChannel;      // data_channel.h, private to this library.
class DeferredRenames;  // local_file.h.

struct ClientOptions {
  // The client TLS configuration (trust roots, versions, client
  // certificate...). Required unless allow_plaintext. Its session_cache, if
  // any, serves the control connection (sessions across runs); data
  // connections always offer the control connection's session.
  std::shared_ptr<const Context> tls_context;
  // TLS from the first byte (ftps://, port 990) instead of AUTH TLS.
  bool implicit_tls = false;
  // Named so it is never set by accident: without TLS, passwords and data
  // travel in clear.
  bool allow_plaintext = false;
  // PROT P (the default) or, only when false, PROT C.
  bool protect_data = true;
  // Passive mode (EPSV, then PASV); false for active mode (EPRT, then PORT).
  bool passive = true;
  // Connect data connections to the address a PASV reply names instead of
  // the control connection's peer. A malicious server could aim them at
  // another host.
  bool trust_pasv_address = false;
  // Offer the control session on data connections. Only tests and
  // benchmarks turn this off, to show what servers do without it.
  bool reuse_session = true;
  // fsync each download before it gets its name, so that after a crash or a
  // power loss the file is whole or absent. Off: faster on slow disks (about
  // a third of a large download's time here), as curl and wget.
  bool sync_downloads = true;
  // The mode of a finished download (DownloadFile); its part file is 0600
  // until complete. A tool passes 0666 & ~umask, as other programs'
  // files get.
  mode_t download_mode = 0600;
  // With sync_downloads, a batch's: each finished download is handed to it
  // (PartFile::CommitLater) instead of synced and renamed on its own; the
  // caller calls its Commit() once the batch is done. Null: each download
  // is synced and renamed as it finishes. Not owned; must outlive the
  // client.
  DeferredRenames* deferred_renames = nullptr;
  // Every wait: connect, reply, handshake, read, write, close.
  absl::Duration timeout = absl::Seconds(30);
  // How long to wait for a TLS 1.3 ticket on the control connection.
  absl::Duration ticket_wait = absl::Seconds(5);
  // Receives the control dialogue (password masked, the server's text
  // escaped) and one line per TLS connection saying whether it resumed.
  // Null: silent.
  std::function<void(absl::string_view)> trace;
  // Receives what the user must hear even without tracing: that the
  // password and data will travel in clear (said before the password is
  // sent). Null: the warnings go to |trace|.
  std::function<void(absl::string_view)> warn;
  // Called with the byte count of each chunk a transfer moves (for a
  // progress bar). Null: not called.
  std::function<void(uint64_t)> progress;
};

// One data transfer's TLS facts.
struct DataConnectionInfo {
  int number = 0;  // 1 for the first data connection.
  bool tls = false;
  bool session_reused = false;
  std::string version;  // "TLSv1.3"
  std::string command;  // "RETR file.txt" (arguments as sent)
  uint64_t bytes = 0;
};

// Receives downloaded bytes; an error aborts the transfer.
using Sink = std::function<absl::Status(absl::string_view)>;
// Fills |buf| with up to |len| bytes to upload; 0 at the end.
using Source = std::function<absl::StatusOr<size_t>(char* buf, size_t len)>;

// True when |status| says the server refused a data connection because it
// did not resume the control connection's TLS session: a 522 or 425 after a
// data handshake that completed without resuming (ProFTPD's refusal), or
// one whose text speaks of reuse (vsftpd's 522) unless our own check of the
// data connection's certificate failed, which is then the error.
bool IsSessionReuseRefusal(const absl::Status& status);

// True when |status| carries an FTP reply from the server (a refusal), as
// opposed to a network, TLS or local failure; |code| receives the reply code.
bool IsServerRefusal(const absl::Status& status, int* code = nullptr);

class FtpsClient {
 public:
  // Connects, reads the greeting and secures the control connection.
  static absl::StatusOr<std::unique_ptr<FtpsClient>> Connect(
      const std::string& host, uint16_t port, ClientOptions options);
  ~FtpsClient();

  // USER and PASS ("anonymous" and an e-mail-like password for anonymous
  // login), then PBSZ 0 and PROT P (or C) and TYPE I.
  absl::Status Login(const std::string& user, const std::string& password);

  // Sends one command line and reads its reply (any code).
  absl::StatusOr<Reply> Command(absl::string_view line);

  // FEAT: returns the features the server lists, one per line, trimmed;
  // none when the server does not know FEAT.
  absl::StatusOr<std::vector<std::string>> Features();
  // PWD: returns the current directory from the 257 reply's quoted path.
  absl::StatusOr<std::string> Pwd();
  // CWD, MKD, RMD, DELE and RNFR + RNTO: OK on a completion reply, else the
  // server's refusal.
  absl::Status Cwd(const std::string& path);
  absl::Status MakeDir(const std::string& path);
  absl::Status RemoveDir(const std::string& path);
  absl::Status Delete(const std::string& path);
  absl::Status Rename(const std::string& from, const std::string& to);
  // SIZE: returns the size of |path| in bytes.
  absl::StatusOr<uint64_t> Size(const std::string& path);
  // MDTM: returns the modification time of |path| (UTC).
  absl::StatusOr<absl::Time> ModificationTime(const std::string& path);

  // Listings over a data connection. An empty |path| lists the current
  // directory.
  absl::StatusOr<std::string> List(const std::string& path = "");
  absl::StatusOr<std::vector<std::string>> NameList(
      const std::string& path = "");
  absl::StatusOr<std::vector<MlsdEntry>> MachineList(
      const std::string& path = "");

  // RETR |path| from byte |offset| (REST when not zero) into |sink|.
  absl::Status Retrieve(const std::string& path, const Sink& sink,
                        uint64_t offset = 0);
  // STOR (or APPE when |append|) from |source|; REST |offset| when not zero.
  absl::Status Store(const std::string& path, const Source& source,
                     bool append = false, uint64_t offset = 0);

  // Downloads |remote| to |local| through a PartFile (local_file.h): the
  // bytes go to "<local>.part" (created on the first byte, never through a
  // symlink) and are renamed to |local| only when the server confirmed the
  // transfer complete, so a failure never leaves a file that looks
  // complete; what an interrupted transfer received stays in the part file.
  // With |resume|, an existing "<local>.part" of ours is continued with
  // REST, and the result checked against SIZE.
  absl::Status DownloadFile(const std::string& remote, const std::string& local,
                            bool resume = false);
  // Uploads |local| to |remote|. With |resume|, asks SIZE and continues from
  // there with REST + STOR.
  absl::Status UploadFile(const std::string& local, const std::string& remote,
                          bool resume = false);

  // QUIT, then the control stream's clean end (close_notify under TLS).
  absl::Status Quit();

  // Facts about the connections so far: every data connection, in order;
  // whether the control connection resumed a session; its TLS version
  // ("TLSv1.3"; empty in plaintext).
  const std::vector<DataConnectionInfo>& data_connections() const;
  bool control_session_reused() const;
  std::string control_tls_version() const;
  // The session data connections offer (empty before the first transfer).
  const Session& control_session() const;
  // Every command sent, in order, the password masked.
  const std::vector<std::string>& commands_sent() const;

 private:
  // Over the connected control stream |plain| (still in clear), which it
  // takes.
  FtpsClient(std::string host, ClientOptions options,
             std::unique_ptr<TcpStream> plain);

  // Implicit TLS, the greeting, then AUTH TLS (NegotiateTls). Returns the
  // first failure; the client is unusable after one.
  absl::Status Start(uint16_t port);
  // AUTH TLS, then ControlChannel::Secure(); or, refused with
  // allow_plaintext, a warning and plaintext.
  absl::Status NegotiateTls();
  // PBSZ 0 and PROT P (or C) under TLS, then TYPE I.
  absl::Status SetUpTransfers();
  // Returns the whole listing |command| sends (at most 256 MiB).
  absl::StatusOr<std::string> ReadAll(absl::string_view command);

  // Declared before the channels, which keep references to it.
  const ClientOptions options_;
  // Commands and replies (control_channel.h); owned, never null.
  std::unique_ptr<ControlChannel> control_;
  // Transfers over |control_| (data_channel.h); owned, never null.
  std::unique_ptr<DataChannel> data_;
};

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_FTPS_CLIENT_H_
