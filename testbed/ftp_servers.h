// Real FTPS servers for tests: vsftpd and ProFTPD (both from Debian's
// packages, installed by setup.sh), started as plain processes on loopback
// ports with configurations generated into a fresh folder, never as system
// services. Both require TLS and, by default, TLS session reuse on data
// connections (vsftpd require_ssl_reuse=YES; ProFTPD's default).
#ifndef TLSESSION_TESTBED_FTP_SERVERS_H_
#define TLSESSION_TESTBED_FTP_SERVERS_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "testbed/server_process.h"

namespace tlsession::testing {

enum class FtpServerKind { kVsftpd, kProftpd };

struct FtpServerOptions {
  FtpServerKind kind = FtpServerKind::kVsftpd;
  bool implicit_tls = false;              // TLS from the first byte.
  uint16_t max_version = TLS1_3_VERSION;  // TLS1_2_VERSION caps the server.
  bool require_reuse = true;              // Refuse data connections that do not
                                          // resume the control session.
  int max_per_ip = 0;  // vsftpd: control connections per client address
                       // (0: no limit); one more gets a 421.
};

// A server configuration that parameterized tests run against.
struct FtpServerCase {
  FtpServerKind kind = FtpServerKind::kVsftpd;
  uint16_t max_version = TLS1_3_VERSION;
  bool implicit_tls = false;
  // A test-name suffix such as "vsftpd_tls13_explicit".
  std::string Name() const;
  FtpServerOptions Options() const;
};

class FtpServer {
 public:
  // The system user the tests log in as (created by setup.sh).
  static constexpr char kUser[] = "tlsftp";
  static constexpr char kPassword[] = "tlsftp-pass";

  // Starts the server on a free loopback port through ServerProcess and
  // waits until its own listening socket is there. Fails, with the reason
  // and the server's output, when it cannot start: tests never skip.
  static absl::StatusOr<std::unique_ptr<FtpServer>> Start(
      const FtpServerOptions& options);
  ~FtpServer();

  uint16_t port() const { return port_; }
  const FtpServerOptions& options() const { return options_; }
  std::string name() const;  // "vsftpd" or "proftpd"
  // The folder the user sees after login (its contents are the user's).
  const std::string& root() const { return root_; }
  // PEM of the CA that signed the server's certificate for "localhost".
  std::string ca_pem() const;
  // Everything the server logged so far (protocol, TLS and transfer logs).
  std::string log() const;

  // Writes |contents| to |name| under root(), owned by the FTP user.
  void PutFile(const std::string& name, const std::string& contents) const;
  // A file's contents under root(), or "" when missing.
  std::string GetFile(const std::string& name) const;
  bool Exists(const std::string& name) const;

 private:
  FtpServer() = default;
  // Makes dir_ (certificate, key, an empty folder for vsftpd's chroot) and
  // root_ (owned by the FTP user). Errors when the user is missing.
  absl::Status MakeFolders();
  // How to start vsftpd or ProFTPD for options_ in dir_: each attempt
  // writes the configuration for its port. ProFTPD's fails when ProFTPD is
  // not unpacked or the user has no password.
  absl::StatusOr<ServerSpec> VsftpdSpec() const;
  absl::StatusOr<ServerSpec> ProftpdSpec() const;

  FtpServerOptions options_;
  std::string dir_;
  std::string root_;
  uint16_t port_ = 0;
  std::unique_ptr<ServerProcess> process_;
};

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTBED_FTP_SERVERS_H_
