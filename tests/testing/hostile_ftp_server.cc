#include "tests/testing/hostile_ftp_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/testing/certs.h"
#include "tests/testing/client_hello_recorder.h"
#include "tls/connection.h"

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
  explicit Control(OwnedFd fd) : fd_(std::move(fd)) {}

  bool Send(const std::string& text) {
    if (tls_) return tls_->Write(text).ok();
    absl::string_view rest(text);
    while (!rest.empty()) {
      ssize_t n = send(fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      rest.remove_prefix(static_cast<size_t>(n));
    }
    return true;
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
      if (tls_) {
        auto n = tls_->Read(tmp, sizeof(tmp));
        if (!n.ok() || *n == 0) return std::nullopt;
        buf_.append(tmp, *n);
      } else {
        if (!WaitForFd(fd_.get(), false, absl::Now() + absl::Seconds(10))
                 .ok()) {
          return std::nullopt;
        }
        ssize_t n = recv(fd_.get(), tmp, sizeof(tmp), 0);
        if (n <= 0) return std::nullopt;
        buf_.append(tmp, static_cast<size_t>(n));
      }
    }
  }

  bool StartTls(const std::shared_ptr<const Context>& context) {
    auto conn = Connection::Create(context, std::move(fd_), "");
    if (!conn.ok()) return false;
    tls_ = std::move(*conn);
    tls_->set_timeout(absl::Seconds(10));
    return tls_->IsolateSessions().ok() && tls_->Handshake().ok();
  }

  Connection* tls() { return tls_.get(); }
  int fd() const { return tls_ ? tls_->fd() : fd_.get(); }

 private:
  OwnedFd fd_;
  std::unique_ptr<Connection> tls_;
  std::string buf_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HostileFtpServer>> HostileFtpServer::Start(
    HostileOptions options) {
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = options.cert_pem.empty()
                                ? GetTestPki().server.cert_pem
                                : options.cert_pem;
  o.private_key_pem = options.key_pem.empty() ? GetTestPki().server.key_pem
                                              : options.key_pem;
  o.io_timeout = absl::Seconds(10);
  o.tls13_tickets = options.tls13_tickets;
  auto context = Context::Create(o);
  if (!context.ok()) return context.status();
  if (options.recorder != nullptr) {
    options.recorder->Install(*context);
  }
  auto listener = TcpListener::Listen("127.0.0.1", 0);
  if (!listener.ok()) return listener.status();
  std::unique_ptr<HostileFtpServer> server(new HostileFtpServer(
      std::move(options), std::move(*listener), *context));
  if (server->options_.fault == Fault::kHugeReplyLine) {
    server->huge_reply_ = "331 " + std::string(10 << 20, 'x') + "\r\n";
  }
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

HostileFtpServer::HostileFtpServer(HostileOptions options,
                                   TcpListener listener,
                                   std::shared_ptr<const Context> context)
    : options_(std::move(options)),
      listener_(std::move(listener)),
      context_(std::move(context)) {}

HostileFtpServer::~HostileFtpServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string HostileFtpServer::uploaded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return uploaded_;
}

bool HostileFtpServer::Strike() {
  return strikes_++ < options_.fault_times;
}

void HostileFtpServer::Run() {
  while (!stop_) {
    auto fd = listener_.Accept(absl::Milliseconds(20));
    if (fd.ok()) Serve(std::move(*fd));
  }
}

void HostileFtpServer::Serve(OwnedFd fd) {
  const Fault fault = options_.fault;
  if (fault == Fault::kStall && Strike()) {
    // Say nothing until the client gives up (or the test ends).
    const absl::Time until = absl::Now() + absl::Seconds(10);
    char c;
    while (!stop_ && absl::Now() < until) {
      if (WaitForFd(fd.get(), false, absl::Now() + absl::Milliseconds(20))
              .ok() &&
          recv(fd.get(), &c, 1, MSG_DONTWAIT) == 0) {
        break;  // The client left.
      }
    }
    return;
  }
  Control control(std::move(fd));
  if (fault == Fault::kMalformedGreeting && Strike()) {
    control.Send("hello there\r\n");
    return;
  }
  if (!control.Send("220 hostile FTPS server\r\n")) return;

  std::optional<TcpListener> data_listener;
  uint64_t rest = 0;
  while (!stop_) {
    std::optional<std::string> line = control.ReadLine();
    if (!line) return;
    std::string verb = absl::AsciiStrToUpper(line->substr(0, line->find(' ')));
    std::string arg =
        line->find(' ') == std::string::npos ? "" : line->substr(line->find(' ') + 1);
    if (verb == "AUTH") {
      if (!control.Send("234 go ahead\r\n") || !control.StartTls(context_)) {
        return;
      }
    } else if (verb == "USER") {
      if (fault == Fault::kHugeReplyLine && Strike()) {
        control.Send(huge_reply_);
        return;
      }
      if (fault == Fault::kEndlessMultiline && Strike()) {
        control.Send("331-and so on\r\n");
        const absl::Time until = absl::Now() + absl::Seconds(10);
        for (int i = 0; !stop_ && absl::Now() < until; ++i) {
          if (!control.Send(absl::StrCat("line ", i, " of a reply that never "
                                                     "ends\r\n"))) {
            return;
          }
        }
        return;
      }
      control.Send("331 password please\r\n");
    } else if (verb == "PASS") {
      control.Send("230 welcome\r\n");
    } else if (verb == "PBSZ") {
      control.Send("200 PBSZ=0\r\n");
    } else if (verb == "PROT") {
      if (fault == Fault::kRefuseProtP && Strike()) {
        control.Send("536 PROT P not supported here\r\n");
      } else {
        control.Send("200 protection set\r\n");
      }
    } else if (verb == "TYPE") {
      control.Send("200 type set\r\n");
    } else if (verb == "SIZE") {
      control.Send(absl::StrCat("213 ", options_.file.size(), "\r\n"));
    } else if (verb == "REST") {
      absl::SimpleAtoi(arg, &rest);
      control.Send("350 restarting\r\n");
    } else if (verb == "EPSV" || verb == "PASV") {
      if (verb == "EPSV" && fault == Fault::kPasvOtherHost) {
        control.Send("500 EPSV not understood\r\n");
        continue;
      }
      auto l = TcpListener::Listen("127.0.0.1", 0, 4);
      if (!l.ok()) return;
      data_listener.emplace(std::move(*l));
      const uint16_t p = data_listener->port();
      if (verb == "EPSV") {
        control.Send(absl::StrCat("229 Entering Extended Passive Mode (|||",
                                  p, "|)\r\n"));
      } else {
        const char* host =
            fault == Fault::kPasvOtherHost ? "127,0,0,2" : "127,0,0,1";
        control.Send(absl::StrCat("227 Entering Passive Mode (", host, ",",
                                  p >> 8, ",", p & 0xff, ").\r\n"));
      }
    } else if (verb == "RETR" || verb == "STOR") {
      if (!data_listener || control.tls() == nullptr) {
        control.Send("425 no data connection\r\n");
        continue;
      }
      control.Send("150 here it comes\r\n");
      auto data_fd = data_listener->Accept(absl::Seconds(10));
      data_listener.reset();
      if (!data_fd.ok()) {
        control.Send("425 no data connection arrived\r\n");
        continue;
      }
      const int raw = data_fd->get();
      ++data_connections_;
      auto data = Connection::Create(context_, std::move(*data_fd), "");
      if (!data.ok() || !(*data)->ShareSessionsWith(*control.tls()).ok()) {
        return;
      }
      (*data)->set_timeout(absl::Seconds(10));
      if (!(*data)->Handshake().ok()) {
        control.Send("425 TLS handshake failed\r\n");
        continue;
      }
      if (fault == Fault::kReject522 || !(*data)->session_reused()) {
        // As vsftpd with require_ssl_reuse=YES.
        data->reset();
        control.Send("522 SSL connection failed: session reuse required\r\n");
        continue;
      }
      ++resumed_;
      if (verb == "RETR") {
        const std::string& file = options_.file;
        const size_t from = std::min<size_t>(rest, file.size());
        rest = 0;
        const size_t half = from + (file.size() - from) / 2;
        bool broke = false;
        if ((fault == Fault::kResetDuringDownload ||
             fault == Fault::kGarbageInDownload ||
             fault == Fault::kAlertInDownload) &&
            Strike()) {
          (void)(*data)->Write(absl::string_view(file).substr(from, half - from));
          if (fault == Fault::kResetDuringDownload) {
            Reset(raw);
          } else if (fault == Fault::kGarbageInDownload) {
            const char junk[] = "\x17\x03\x03\x00\x10garbage-garbage!";
            (void)send(raw, junk, sizeof(junk) - 1, MSG_NOSIGNAL);
            absl::SleepFor(absl::Milliseconds(100));
          } else {
            SSL_send_fatal_alert((*data)->ssl(), SSL_AD_INTERNAL_ERROR);
            absl::SleepFor(absl::Milliseconds(100));
          }
          broke = true;
        }
        if (broke) {
          data->reset();
          control.Send("426 transfer aborted\r\n");
          continue;
        }
        (void)(*data)->Write(absl::string_view(file).substr(from));
        (void)(*data)->Shutdown();
        control.Send("226 transfer complete\r\n");
      } else {
        std::string got;
        char buf[65536];
        bool broke = false;
        const bool strike = fault == Fault::kResetDuringUpload && Strike();
        for (;;) {
          auto n = (*data)->Read(buf, sizeof(buf));
          if (!n.ok() || *n == 0) break;
          got.append(buf, *n);
          if (strike && got.size() >= 100000) {
            Reset(raw);
            broke = true;
            break;
          }
        }
        if (!broke) (void)(*data)->Shutdown();
        data->reset();
        {
          std::lock_guard<std::mutex> lock(mu_);
          uploaded_ = got;
        }
        control.Send(broke ? "426 connection reset, transfer aborted\r\n"
                           : "226 stored\r\n");
      }
    } else if (verb == "QUIT") {
      if (options_.fault == Fault::kResetOnQuit && Strike()) {
        linger l{1, 0};  // Close with a TCP reset: no 221, no close_notify.
        setsockopt(control.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        return;
      }
      control.Send("221 bye\r\n");
      if (control.tls()) (void)control.tls()->Shutdown();
      return;
    } else {
      control.Send("502 not implemented\r\n");
    }
  }
}

}  // namespace tlsession::testing
