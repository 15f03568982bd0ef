#include "testbed/ftp_servers.h"

#include <ftw.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "testbed/certs.h"
#include "testbed/server_process.h"

namespace tlsession::testing {
namespace {

// Where setup.sh unpacks ProFTPD (its packages conflict with vsftpd's).
std::string ProftpdRoot() {
  const char* env = getenv("TLSESSION_PROFTPD_ROOT");
  return env ? env : "/opt/tlsession/proftpd";
}

void Write(const std::string& path, const std::string& contents, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  chmod(path.c_str(), mode);
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  return remove(path);
}

// vsftpd.conf's lines for |options|, serving |root| on 127.0.0.1:|port|,
// with its files in |dir|.
std::vector<std::string> VsftpdConfig(const FtpServerOptions& options,
                                      const std::string& dir,
                                      const std::string& root, uint16_t port) {
  return {
      "listen=YES",
      "listen_ipv6=NO",
      "background=NO",
      "listen_address=127.0.0.1",
      absl::StrCat("listen_port=", port),
      "anonymous_enable=NO",
      "local_enable=YES",
      "write_enable=YES",
      "local_umask=022",
      absl::StrCat("local_root=", root),
      "ssl_enable=YES",
      absl::StrCat("rsa_cert_file=", dir, "/cert.pem"),
      absl::StrCat("rsa_private_key_file=", dir, "/key.pem"),
      "force_local_data_ssl=YES",
      "force_local_logins_ssl=YES",
      absl::StrCat("require_ssl_reuse=", options.require_reuse ? "YES" : "NO"),
      // vsftpd's default list breaks TLS 1.2 against OpenSSL 3.
      "ssl_ciphers=HIGH",
      absl::StrCat("implicit_ssl=", options.implicit_tls ? "YES" : "NO"),
      "pasv_enable=YES",
      "pasv_address=127.0.0.1",
      "port_enable=YES",
      "seccomp_sandbox=NO",
      "isolate_network=NO",
      "isolate=NO",
      absl::StrCat("secure_chroot_dir=", dir, "/empty"),
      absl::StrCat("vsftpd_log_file=", dir, "/vsftpd.log"),
      "xferlog_enable=YES",
      "log_ftp_protocol=YES",
      "debug_ssl=YES",
      "pam_service_name=vsftpd",
      absl::StrCat("max_per_ip=", options.max_per_ip),
      "max_clients=0",
  };
}

// proftpd.conf's lines for |options|, serving |root| on 127.0.0.1:|port|,
// with its files in |dir|.
std::vector<std::string> ProftpdConfig(const FtpServerOptions& options,
                                       const std::string& dir,
                                       const std::string& root, uint16_t port) {
  const std::string user = FtpServer::kUser;
  std::vector<std::string> conf = {
      "ServerType standalone",
      "ServerName \"tlsession test\"",
      "DefaultAddress 127.0.0.1",
      absl::StrCat("Port ", port),
      "User " + user,
      "Group " + user,
      absl::StrCat("PidFile ", dir, "/proftpd.pid"),
      absl::StrCat("ScoreboardFile ", dir, "/proftpd.scoreboard"),
      "DelayTable none",
      // mod_ctrls would bind /run/proftpd.sock, shared by every instance on
      // the machine (tests run in parallel): keep it off, its socket ours.
      "ControlsEngine off",
      absl::StrCat("ControlsSocket ", dir, "/proftpd.sock"),
      "WtmpLog off",
      "UseReverseDNS off",
      "RequireValidShell off",
      "AuthOrder mod_auth_file.c",
      absl::StrCat("AuthUserFile ", dir, "/passwd"),
      "MaxInstances 100",
      absl::StrCat("SystemLog ", dir, "/proftpd.log"),
      absl::StrCat("TransferLog ", dir, "/proftpd.xferlog"),
      absl::StrCat("ModulePath ", ProftpdRoot(), "/usr/lib/proftpd"),
      "LoadModule mod_tls.c",
      "<Global>",
      "  AllowOverwrite on",
      "  AllowStoreRestart on",
      "  AllowRetrieveRestart on",
      "  Umask 022",
      "</Global>",
      "TLSEngine on",
      "TLSRequired on",
      absl::StrCat("TLSLog ", dir, "/proftpd.tls.log"),
      options.max_version == TLS1_2_VERSION ? "TLSProtocol TLSv1.2"
                                            : "TLSProtocol TLSv1.2 TLSv1.3",
      // The test PKI's key is an EC key.
      absl::StrCat("TLSECCertificateFile ", dir, "/cert.pem"),
      absl::StrCat("TLSECCertificateKeyFile ", dir, "/key.pem"),
      "TLSVerifyClient off",
      "TLSRenegotiate none",
  };
  std::vector<std::string> tls_options;
  if (!options.require_reuse) tls_options.push_back("NoSessionReuseRequired");
  if (options.implicit_tls) tls_options.push_back("UseImplicitSSL");
  if (!tls_options.empty()) {
    conf.push_back(
        absl::StrCat("TLSOptions ", absl::StrJoin(tls_options, " ")));
  }
  return conf;
}

// Writes ProFTPD's AuthUserFile |dir|/passwd: the FTP user, at home in
// |root|, with the password hashed by the shadow crypt that setup.sh's
// chpasswd used (copied from /etc/shadow).
absl::Status WriteProftpdPasswd(const std::string& dir,
                                const std::string& root) {
  const std::string user = FtpServer::kUser;
  passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "user '", user, "' does not exist: run ./setup.sh (as root)"));
  }
  std::ifstream shadow("/etc/shadow");
  std::string line, crypted;
  while (std::getline(shadow, line)) {
    if (line.rfind(user + ":", 0) == 0) {
      size_t a = line.find(':');
      size_t b = line.find(':', a + 1);
      crypted = line.substr(a + 1, b - a - 1);
    }
  }
  if (crypted.empty() || crypted[0] == '!' || crypted[0] == '*') {
    return absl::FailedPreconditionError(
        absl::StrCat("user '", user, "' has no password: run ./setup.sh"));
  }
  Write(dir + "/passwd",
        absl::StrCat(user, ":", crypted, ":", pw->pw_uid, ":", pw->pw_gid,
                     "::", root, ":/bin/sh\n"),
        0600);
  return absl::OkStatus();
}

}  // namespace

std::string FtpServerCase::Name() const {
  return absl::StrCat(kind == FtpServerKind::kVsftpd ? "vsftpd" : "proftpd",
                      max_version == TLS1_3_VERSION ? "_tls13" : "_tls12",
                      implicit_tls ? "_implicit" : "_explicit");
}

FtpServerOptions FtpServerCase::Options() const {
  FtpServerOptions o;
  o.kind = kind;
  o.max_version = max_version;
  o.implicit_tls = implicit_tls;
  return o;
}

std::string FtpServer::name() const {
  return options_.kind == FtpServerKind::kVsftpd ? "vsftpd" : "proftpd";
}

std::string FtpServer::ca_pem() const { return GetTestPki().ca.cert_pem; }

absl::StatusOr<std::unique_ptr<FtpServer>> FtpServer::Start(
    const FtpServerOptions& options) {
  std::unique_ptr<FtpServer> server(new FtpServer());
  server->options_ = options;
  if (absl::Status s = server->MakeFolders(); !s.ok()) return s;
  absl::StatusOr<ServerSpec> spec = options.kind == FtpServerKind::kVsftpd
                                        ? server->VsftpdSpec()
                                        : server->ProftpdSpec();
  if (!spec.ok()) return spec.status();
  absl::StatusOr<std::unique_ptr<ServerProcess>> process =
      ServerProcess::Start(*spec);
  if (!process.ok()) {
    return absl::UnavailableError(absl::StrCat(
        server->name(), " did not start: ", process.status().message(), "\n",
        server->log()));
  }
  server->port_ = (*process)->port();
  server->process_ = *std::move(process);
  return server;
}

absl::Status FtpServer::MakeFolders() {
  passwd* user = getpwnam(kUser);
  if (user == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "user '", kUser, "' does not exist: run ./setup.sh (as root)"));
  }
  // Under /tmp, not $TEST_TMPDIR: the server's user-side processes must be
  // able to reach the root folder, and /root is private.
  std::string templ = "/tmp/tlsession-ftp.XXXXXX";
  if (mkdtemp(&templ[0]) == nullptr) {
    return absl::InternalError("mkdtemp failed");
  }
  dir_ = templ;
  chmod(dir_.c_str(), 0755);
  root_ = dir_ + "/root";
  mkdir(root_.c_str(), 0755);
  if (chown(root_.c_str(), user->pw_uid, user->pw_gid) != 0) {
    return absl::InternalError("chown of the FTP root failed");
  }
  mkdir((dir_ + "/empty").c_str(), 0755);
  const TestPki& pki = GetTestPki();
  Write(dir_ + "/cert.pem", pki.server.cert_pem, 0644);
  Write(dir_ + "/key.pem", pki.server.key_pem, 0600);
  return absl::OkStatus();
}

absl::StatusOr<ServerSpec> FtpServer::VsftpdSpec() const {
  ServerSpec spec;
  spec.name = "vsftpd";
  spec.log_path = dir_ + "/stdout.log";
  // vsftpd prints nothing once it listens: its listening socket is the sign.
  // Its startup errors ("500 OOPS: could not bind listening IPv4 socket")
  // go to fd 0.
  spec.listening_socket = true;
  spec.stdin_is_log = true;
  spec.port_taken = {"could not bind listening"};
  spec.own_process_group = true;
  if (options_.max_version == TLS1_2_VERSION) {
    // vsftpd has no option for the TLS version: cap OpenSSL itself.
    Write(dir_ + "/openssl.cnf",
          "openssl_conf = default_conf\n[default_conf]\n"
          "ssl_conf = ssl_sect\n[ssl_sect]\n"
          "system_default = system_default_sect\n"
          "[system_default_sect]\nMaxProtocol = TLSv1.2\n",
          0644);
    spec.env.push_back(absl::StrCat("OPENSSL_CONF=", dir_, "/openssl.cnf"));
  }
  spec.command =
      [options = options_, dir = dir_, root = root_](
          uint16_t port) -> absl::StatusOr<std::vector<std::string>> {
    Write(dir + "/vsftpd.conf",
          absl::StrJoin(VsftpdConfig(options, dir, root, port), "\n") + "\n",
          0600);
    return std::vector<std::string>{"/usr/sbin/vsftpd", dir + "/vsftpd.conf"};
  };
  return spec;
}

absl::StatusOr<ServerSpec> FtpServer::ProftpdSpec() const {
  const std::string root = ProftpdRoot();
  if (access((root + "/usr/sbin/proftpd").c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("ProFTPD is not unpacked in ", root, ": run ./setup.sh"));
  }
  if (absl::Status s = WriteProftpdPasswd(dir_, root_); !s.ok()) return s;
  ServerSpec spec;
  spec.name = "proftpd";
  spec.log_path = dir_ + "/stdout.log";
  spec.server_log_path = dir_ + "/proftpd.log";
  // Its SystemLog says "standalone mode STARTUP" (or "Address already in
  // use") just before it calls listen(2): the socket is waited for too.
  spec.ready_line = "standalone mode STARTUP";
  spec.listening_socket = true;
  spec.own_process_group = true;
  spec.command =
      [options = options_, dir = dir_, ftp_root = root_,
       root](uint16_t port) -> absl::StatusOr<std::vector<std::string>> {
    Write(
        dir + "/proftpd.conf",
        absl::StrJoin(ProftpdConfig(options, dir, ftp_root, port), "\n") + "\n",
        0600);
    return std::vector<std::string>{root + "/usr/sbin/proftpd", "-n", "-q",
                                    "-c", dir + "/proftpd.conf"};
  };
  return spec;
}

FtpServer::~FtpServer() {
  process_.reset();  // Kills the server and its per-connection children.
  if (!dir_.empty() && getenv("TLSESSION_KEEP_FTP_DIRS") == nullptr) {
    nftw(dir_.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
  }
}

std::string FtpServer::log() const {
  std::string out;
  for (const char* name : {"stdout.log", "vsftpd.log", "proftpd.log",
                           "proftpd.tls.log", "proftpd.xferlog"}) {
    std::string text = ReadFileOrEmpty(absl::StrCat(dir_, "/", name));
    if (!text.empty()) absl::StrAppend(&out, "== ", name, "\n", text);
  }
  return out;
}

void FtpServer::PutFile(const std::string& name,
                        const std::string& contents) const {
  const std::string path = root_ + "/" + name;
  Write(path, contents, 0644);
  if (passwd* user = getpwnam(kUser)) {
    (void)chown(path.c_str(), user->pw_uid, user->pw_gid);
  }
}

std::string FtpServer::GetFile(const std::string& name) const {
  return ReadFileOrEmpty(root_ + "/" + name);
}

bool FtpServer::Exists(const std::string& name) const {
  return access((root_ + "/" + name).c_str(), F_OK) == 0;
}

}  // namespace tlsession::testing
