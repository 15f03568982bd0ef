#include "tests/testing/hostile_ftp_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "testbed/certs.h"
#include "tests/testing/client_hello_recorder.h"
#include "tls/connection.h"
#include "tls/stream.h"
#include "tls/tcp_stream.h"

namespace tlsession::testing {
namespace {

// Closes |fd| with a TCP reset.
void Reset(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::shutdown(fd, SHUT_RDWR);
}

// The control channel: plain until AUTH TLS, then TLS.
class Control {
 public:
  explicit Control(OwnedFd fd) {
    auto plain = TcpStream::Create(std::move(fd), "", absl::Seconds(10));
    if (plain.ok()) plain_ = *std::move(plain);
    stream_ = plain_.get();
  }

  bool Send(const std::string& text) {
    return stream_ != nullptr && stream_->Write(text).ok();
  }

  std::optional<std::string> ReadLine() {
    for (;;) {
      size_t eol = buf_.find('\n');
      if (eol != std::string::npos) {
        std::string line = buf_.substr(0, eol);
        buf_.erase(0, eol + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      char tmp[4096];
      if (stream_ == nullptr) return std::nullopt;
      auto n = stream_->Read(tmp, sizeof(tmp));
      if (!n.ok() || *n == 0) return std::nullopt;
      buf_.append(tmp, *n);
    }
  }

  bool StartTls(const std::shared_ptr<const Context>& context) {
    stream_ = nullptr;
    auto conn = Connection::Create(context, plain_->Release(), "");
    plain_.reset();
    if (!conn.ok()) return false;
    tls_ = std::move(*conn);
    stream_ = tls_.get();
    tls_->set_timeout(absl::Seconds(10));
    return tls_->IsolateSessions().ok() && tls_->Handshake().ok();
  }

  Connection* tls() { return tls_.get(); }
  int fd() const { return stream_ != nullptr ? stream_->fd() : -1; }

 private:
  std::unique_ptr<TcpStream> plain_;
  std::unique_ptr<Connection> tls_;
  Stream* stream_ = nullptr;  // The one of the two in use.
  std::string buf_;
};

absl::StatusOr<std::shared_ptr<const Context>> ServerContext(
    const std::string& cert_pem, const std::string& key_pem,
    size_t tls13_tickets = 2) {
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = cert_pem;
  o.private_key_pem = key_pem;
  o.io_timeout = absl::Seconds(10);
  o.tls13_tickets = tls13_tickets;
  return Context::Create(o);
}

// A Context whose certificate names "other.example", from the test CA.
absl::StatusOr<std::shared_ptr<const Context>> OtherHostContext() {
  CertOptions c;
  c.common_name = "other.example";
  c.dns_names = {"other.example"};
  absl::StatusOr<CertAndKey> cert = MakeCertificate(c, &GetTestPki().ca);
  if (!cert.ok()) return cert.status();
  return ServerContext(cert->cert_pem, cert->key_pem);
}

}  // namespace

// One client's control connection, command by command.
class HostileFtpServer::Session {
 public:
  Session(HostileFtpServer& server, OwnedFd fd)
      : server_(server), options_(server.options_), control_(std::move(fd)) {}

  // The greeting, then command after command until QUIT or an error.
  void Run() {
    if (options_.fault == Fault::kMalformedGreeting && server_.Strike()) {
      control_.Send("hello there\r\n");
      return;
    }
    if (!control_.Send(options_.greeting + "\r\n")) return;
    while (!server_.stop_) {
      std::optional<std::string> line = control_.ReadLine();
      if (!line) return;
      server_.Record(*line);
      const size_t space = line->find(' ');
      const std::string verb = absl::AsciiStrToUpper(line->substr(0, space));
      const std::string arg =
          space == std::string::npos ? "" : line->substr(space + 1);
      if (!Handle(verb, arg)) return;
    }
  }

 private:
  // Replies to one command; false ends the session.
  bool Handle(const std::string& verb, const std::string& arg) {
    const Fault fault = options_.fault;
    if (verb == "AUTH") {
      if (fault == Fault::kRefuseAuthTls && server_.Strike()) {
        return control_.Send("500 AUTH not understood\r\n");
      }
      return control_.Send("234 go ahead\r\n") &&
             control_.StartTls(server_.context_);
    }
    if (verb == "USER") return User();
    if (verb == "PASS") {
      if (fault == Fault::kRejectLogin && server_.Strike()) {
        return control_.Send("530 Login incorrect.\r\n");
      }
      return control_.Send("230 welcome\r\n");
    }
    if (verb == "PBSZ") return control_.Send("200 PBSZ=0\r\n");
    if (verb == "PROT") {
      if (fault == Fault::kRefuseProtP && server_.Strike()) {
        return control_.Send("536 PROT P not supported here\r\n");
      }
      protect_data_ = absl::AsciiStrToUpper(arg) != "C";
      return control_.Send("200 protection set\r\n");
    }
    if (verb == "TYPE") return control_.Send("200 type set\r\n");
    if (verb == "SIZE") {
      return control_.Send(absl::StrCat("213 ", options_.file.size(), "\r\n"));
    }
    if (verb == "REST") {
      (void)absl::SimpleAtoi(arg, &rest_);
      return control_.Send("350 restarting\r\n");
    }
    if (verb == "EPSV" || verb == "PASV") return Passive(verb);
    if (verb == "RETR" || verb == "STOR" || verb == "LIST" || verb == "NLST" ||
        verb == "MLSD") {
      return Transfer(verb, arg);
    }
    if (verb == "RNFR") return control_.Send("350 ready for RNTO\r\n");
    if (verb == "RNTO") {
      if (absl::StrContains(arg, "missing")) {  // Echoed, as servers do.
        return control_.Send("550 " + arg + ": no such directory\r\n");
      }
      return control_.Send("250 renamed\r\n");
    }
    if (verb == "QUIT") {
      if (options_.fault == Fault::kResetOnQuit && server_.Strike()) {
        linger l{1, 0};  // Close with a TCP reset: no 221, no close_notify.
        setsockopt(control_.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        return false;
      }
      control_.Send("221 bye\r\n");
      if (control_.tls()) (void)control_.tls()->Shutdown();
      return false;
    }
    return control_.Send("502 not implemented\r\n");
  }

  // USER: 331, or a reply too long or never ending.
  bool User() {
    const Fault fault = options_.fault;
    if (fault == Fault::kHugeReplyLine && server_.Strike()) {
      control_.Send(server_.huge_reply_);
      return false;
    }
    if (fault == Fault::kEndlessMultiline && server_.Strike()) {
      control_.Send("331-and so on\r\n");
      const absl::Time until = absl::Now() + absl::Seconds(10);
      for (int i = 0; !server_.stop_ && absl::Now() < until; ++i) {
        if (!control_.Send(absl::StrCat("line ", i,
                                        " of a reply that never "
                                        "ends\r\n"))) {
          return false;
        }
      }
      return false;
    }
    return control_.Send("331 password please\r\n");
  }

  // EPSV or PASV: a data listener on 127.0.0.1 (PASV may name 127.0.0.2).
  bool Passive(const std::string& verb) {
    if (verb == "EPSV" && options_.fault == Fault::kPasvOtherHost) {
      return control_.Send("500 EPSV not understood\r\n");
    }
    auto l = TcpListener::Listen("127.0.0.1", 0, 4);
    if (!l.ok()) return false;
    data_listener_.emplace(std::move(*l));
    const uint16_t p = data_listener_->port();
    if (verb == "EPSV") {
      return control_.Send(
          absl::StrCat("229 Entering Extended Passive Mode (|||", p, "|)\r\n"));
    }
    const char* host =
        options_.fault == Fault::kPasvOtherHost ? "127,0,0,2" : "127,0,0,1";
    return control_.Send(absl::StrCat("227 Entering Passive Mode (", host, ",",
                                      p >> 8, ",", p & 0xff, ").\r\n"));
  }

  // RETR, STOR and the listings: the data connection, then the transfer.
  bool Transfer(const std::string& verb, const std::string& arg) {
    if (!data_listener_) return control_.Send("425 no data connection\r\n");
    if (verb == "RETR" && absl::StrContains(arg, "missing")) {
      data_listener_.reset();
      return control_.Send("550 " + arg + ": no such file\r\n");
    }
    control_.Send("150 here it comes\r\n");
    DataConnection data;
    if (!AcceptData(&data)) return false;
    if (data.stream == nullptr) return true;  // Refused, and said so.
    if (verb == "STOR") return Store(std::move(data));
    if (verb == "RETR") return Retrieve(std::move(data));
    return SendListing(std::move(data));
  }

  // A data connection: TLS, or in clear when the control connection is (or
  // after PROT C).
  struct DataConnection {
    std::unique_ptr<Stream> stream;
    Connection* tls = nullptr;  // |stream| under TLS.
    int raw = -1;               // The socket, to misbehave on.
  };

  // Accepts and, unless data goes in clear, secures a data connection.
  // False ends the session; a null |data->stream| means the attempt was
  // refused with a reply already sent.
  bool AcceptData(DataConnection* data) {
    auto data_fd = data_listener_->Accept(absl::Seconds(10));
    data_listener_.reset();
    if (!data_fd.ok()) {
      return control_.Send("425 no data connection arrived\r\n");
    }
    data->raw = data_fd->get();
    ++server_.data_connections_;
    if (control_.tls() == nullptr || !protect_data_) {
      auto plain =
          TcpStream::Create(std::move(*data_fd), "", absl::Seconds(10));
      if (!plain.ok()) return false;
      data->stream = *std::move(plain);
      return true;
    }
    auto conn =
        Connection::Create(server_.data_context_, std::move(*data_fd), "");
    if (!conn.ok() || !(*conn)->ShareSessionsWith(*control_.tls()).ok()) {
      return false;
    }
    (*conn)->set_timeout(absl::Seconds(10));
    if (!(*conn)->Handshake().ok()) {
      return control_.Send(options_.data_handshake_failure_reply + "\r\n");
    }
    if (options_.fault == Fault::kReject522 || !(*conn)->session_reused()) {
      // As vsftpd with require_ssl_reuse=YES.
      conn->reset();
      return control_.Send(
          "522 SSL connection failed: session reuse required\r\n");
    }
    ++server_.resumed_;
    data->tls = conn->get();
    data->stream = *std::move(conn);
    return true;
  }

  // The transfers; each sends the final reply.
  bool Retrieve(DataConnection data) {
    const Fault fault = options_.fault;
    const std::string& file = options_.file;
    const size_t from = std::min<size_t>(rest_, file.size());
    rest_ = 0;
    const size_t half = from + (file.size() - from) / 2;
    if ((fault == Fault::kResetDuringDownload ||
         fault == Fault::kGarbageInDownload ||
         fault == Fault::kAlertInDownload) &&
        server_.Strike()) {
      (void)data.stream->Write(
          absl::string_view(file).substr(from, half - from));
      if (fault == Fault::kResetDuringDownload) {
        Reset(data.raw);
      } else if (fault == Fault::kGarbageInDownload) {
        const char junk[] = "\x17\x03\x03\x00\x10garbage-garbage!";
        (void)send(data.raw, junk, sizeof(junk) - 1, MSG_NOSIGNAL);
        absl::SleepFor(absl::Milliseconds(100));
      } else if (data.tls != nullptr) {
        SSL_send_fatal_alert(data.tls->ssl(), SSL_AD_INTERNAL_ERROR);
        absl::SleepFor(absl::Milliseconds(100));
      }
      data.stream.reset();
      return control_.Send("426 transfer aborted\r\n");
    }
    (void)data.stream->Write(absl::string_view(file).substr(from));
    (void)data.stream->Shutdown();
    return control_.Send("226 transfer complete\r\n");
  }

  bool Store(DataConnection data) {
    std::string got;
    char buf[65536];
    bool broke = false;
    const bool strike =
        options_.fault == Fault::kResetDuringUpload && server_.Strike();
    for (;;) {
      auto n = data.stream->Read(buf, sizeof(buf));
      if (!n.ok() || *n == 0) break;
      got.append(buf, *n);
      if (strike && got.size() >= 100000) {
        Reset(data.raw);
        broke = true;
        break;
      }
    }
    if (!broke) (void)data.stream->Shutdown();
    data.stream.reset();
    {
      std::lock_guard<std::mutex> lock(server_.mu_);
      server_.uploaded_ = got;
    }
    return control_.Send(broke ? "426 connection reset, transfer aborted\r\n"
                               : "226 stored\r\n");
  }

  bool SendListing(DataConnection data) {
    if (options_.fault == Fault::kHugeListing) {
      const std::string chunk(1 << 20, 'x');
      for (int i = 0; i < 257; ++i) {
        if (!data.stream->Write(chunk).ok()) {
          data.stream.reset();
          return control_.Send("426 listing aborted\r\n");
        }
      }
    } else {
      (void)data.stream->Write(options_.listing);
    }
    (void)data.stream->Shutdown();
    return control_.Send("226 listing sent\r\n");
  }

  HostileFtpServer& server_;
  const HostileOptions& options_;
  Control control_;
  std::optional<TcpListener> data_listener_;
  uint64_t rest_ = 0;
  bool protect_data_ = true;  // PROT P (the default) or C.
};

absl::StatusOr<std::unique_ptr<HostileFtpServer>> HostileFtpServer::Start(
    HostileOptions options) {
  auto context = ServerContext(
      options.cert_pem.empty() ? GetTestPki().server.cert_pem
                               : options.cert_pem,
      options.key_pem.empty() ? GetTestPki().server.key_pem : options.key_pem,
      options.tls13_tickets);
  if (!context.ok()) return context.status();
  if (options.recorder != nullptr) options.recorder->Install(*context);
  absl::StatusOr<std::shared_ptr<const Context>> data_context = *context;
  if (options.fault == Fault::kBadDataCertificate) {
    data_context = OtherHostContext();
    if (!data_context.ok()) return data_context.status();
  }
  auto listener = TcpListener::Listen("127.0.0.1", 0);
  if (!listener.ok()) return listener.status();
  std::unique_ptr<HostileFtpServer> server(new HostileFtpServer(
      std::move(options), std::move(*listener), *context, *data_context));
  if (server->options_.fault == Fault::kHugeReplyLine) {
    server->huge_reply_ = "331 " + std::string(10 << 20, 'x') + "\r\n";
  }
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

HostileFtpServer::HostileFtpServer(HostileOptions options, TcpListener listener,
                                   std::shared_ptr<const Context> context,
                                   std::shared_ptr<const Context> data_context)
    : options_(std::move(options)),
      listener_(std::move(listener)),
      context_(std::move(context)),
      data_context_(std::move(data_context)) {}

HostileFtpServer::~HostileFtpServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string HostileFtpServer::uploaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return uploaded_;
}

std::vector<std::string> HostileFtpServer::commands() const {
  std::lock_guard<std::mutex> lock(mu_);
  return commands_;
}

void HostileFtpServer::Record(const std::string& line) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    commands_.push_back(line);
  }
  if (options_.on_command) options_.on_command(line);
}

bool HostileFtpServer::Strike() { return strikes_++ < options_.fault_times; }

void HostileFtpServer::Run() {
  while (!stop_) {
    auto fd = listener_.Accept(absl::Milliseconds(20));
    if (!fd.ok()) continue;
    if (options_.fault == Fault::kStall && Strike()) {
      // Say nothing until the client gives up (or the test ends).
      const absl::Time until = absl::Now() + absl::Seconds(10);
      char c;
      while (!stop_ && absl::Now() < until) {
        if (WaitForFd(fd->get(), false, absl::Now() + absl::Milliseconds(20))
                .ok() &&
            recv(fd->get(), &c, 1, MSG_DONTWAIT) == 0) {
          break;  // The client left.
        }
      }
      continue;
    }
    Session(*this, std::move(*fd)).Run();
  }
}

}  // namespace tlsession::testing
