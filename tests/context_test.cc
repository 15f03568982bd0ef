// Context's secure defaults and the errors a client sees, over real sockets
// on 127.0.0.1.
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/tls_server.h"
#include "tests/tls_test_util.h"

namespace tlsession::testing {
namespace {

using ::testing::HasSubstr;

TEST(Defaults, SecureValues) {
  ContextOptions o;
  EXPECT_EQ(o.role, Role::kClient);
  EXPECT_EQ(o.min_version, TLS1_2_VERSION);
  EXPECT_EQ(o.max_version, TLS1_3_VERSION);
  EXPECT_FALSE(o.insecure_skip_verify);
  EXPECT_EQ(o.cipher_list, std::string(kDefaultCipherList));
}

TEST(Defaults, RefusesServerBelowTls12) {
  ContextOptions s = ServerOptions();
  s.min_version = TLS1_1_VERSION;
  s.max_version = TLS1_1_VERSION;
  s.cipher_list = "ECDHE-ECDSA-AES128-SHA";
  auto server = TestTlsServer::Start(MustCreate(s));
  ASSERT_TRUE(server.ok()) << server.status();
  auto run = RunClient(MustCreate(ClientOptions()), (*server)->port());
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(Msg(run.status()),
              ::testing::AnyOf(HasSubstr("UNSUPPORTED_PROTOCOL"),
                               HasSubstr("PROTOCOL_VERSION")));
  EXPECT_THAT(Msg(run.status()), ::testing::Not(HasSubstr("verification")));
}

TEST(Defaults, RefusesNonAeadOrNonEcdheCipher) {
  for (const char* cipher : {"ECDHE-ECDSA-AES128-SHA", "AES128-GCM-SHA256"}) {
    ContextOptions s = ServerOptions(Resumption::kTls12SessionId);
    s.cipher_list = cipher;
    auto server = TestTlsServer::Start(MustCreate(s));
    ASSERT_TRUE(server.ok());
    auto run = RunClient(MustCreate(ClientOptions()), (*server)->port());
    EXPECT_FALSE(run.ok()) << cipher;
    EXPECT_THAT(Msg(run.status()), HasSubstr("HANDSHAKE_FAILURE"));
  }
}

TEST(Defaults, NegotiatesEcdheAead) {
  auto server = TestTlsServer::Start(
      MustCreate(ServerOptions(Resumption::kTls12SessionId)));
  ASSERT_TRUE(server.ok());
  auto conn = Connection::Connect(MustCreate(ClientOptions()), "localhost",
                                  (*server)->port());
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ((*conn)->version(), TLS1_2_VERSION);
  EXPECT_THAT((*conn)->cipher_name(), HasSubstr("ECDHE"));
  EXPECT_THAT((*conn)->cipher_name(),
              ::testing::AnyOf(HasSubstr("GCM"), HasSubstr("CHACHA20")));
  EXPECT_EQ((*conn)->version_name(), "TLSv1.2");
}

TEST(Defaults, VersionsAreConfigurable) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  ContextOptions c = ClientOptions();
  c.max_version = TLS1_2_VERSION;
  auto run = RunClient(MustCreate(c), (*server)->port());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->version, "TLSv1.2");
  auto bad = Context::Create([] {
    ContextOptions o;
    o.min_version = TLS1_3_VERSION;
    o.max_version = TLS1_2_VERSION;
    return o;
  }());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(bad.status()), HasSubstr("min_version"));
}

TEST(Defaults, SendsSniFromHostNameButNotForAddresses) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  ASSERT_TRUE(
      RunClient(client, (*server)->port(), Session(), "localhost").ok());
  auto by_ip = RunClient(client, (*server)->port(), Session(), "127.0.0.1");
  ASSERT_TRUE(by_ip.ok()) << by_ip.status();  // The cert names 127.0.0.1.
  ASSERT_TRUE((*server)->WaitForServed(2));
  EXPECT_EQ((*server)->served()[0].server_name, "localhost");
  EXPECT_EQ((*server)->served()[1].server_name, "");
}

TEST(Verification, HostNameMismatchFails) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto run = RunClient(MustCreate(ClientOptions()), (*server)->port(),
                       Session(), "wrong.example");
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Msg(run.status()), HasSubstr("Hostname mismatch"));
  EXPECT_THAT(Msg(run.status()), HasSubstr("wrong.example"));
}

TEST(Verification, UntrustedCaFailsWithSystemStore) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  ContextOptions c;  // System trust store: our test CA is not in it.
  auto run = RunClient(MustCreate(c), (*server)->port());
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Msg(run.status()),
              HasSubstr("unable to get local issuer certificate"));
  EXPECT_THAT(Msg(run.status()), HasSubstr("CERTIFICATE_VERIFY_FAILED"));
}

TEST(Verification, CaFileAndMissingCaFile) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  ContextOptions c;
  c.ca_file = GetTestPki().ca_file();
  ASSERT_TRUE(RunClient(MustCreate(c), (*server)->port()).ok());
  c.ca_file = "/nonexistent/ca.pem";
  auto bad = Context::Create(c);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(bad.status()), HasSubstr("/nonexistent/ca.pem"));
}

TEST(Verification, InsecureSkipVerifyIsExplicit) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  ContextOptions c;
  c.insecure_skip_verify = true;
  auto insecure = MustCreate(c);
  auto run = RunClient(insecure, (*server)->port(), Session(), "wrong.example");
  EXPECT_TRUE(run.ok()) << run.status();
  EXPECT_NE(insecure->id(), MustCreate(ContextOptions())->id());
}

TEST(ClientCertificates, RequiredByServer) {
  ContextOptions s = ServerOptions();
  s.require_client_certificate = true;
  auto server = TestTlsServer::Start(MustCreate(s));
  ASSERT_TRUE(server.ok());
  // Without a certificate: the server refuses.
  auto without = RunClient(MustCreate(ClientOptions()), (*server)->port());
  EXPECT_FALSE(without.ok());
  // With one: accepted, and the server saw it.
  ContextOptions c = ClientOptions();
  c.certificate_chain_file = GetTestPki().client_cert_file();
  c.private_key_file = GetTestPki().client_key_file();
  auto with = RunClient(MustCreate(c), (*server)->port());
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_TRUE((*server)->WaitForServed(2));
  EXPECT_TRUE((*server)->served()[1].client_certificate);
}

TEST(ClientCertificates, KeyMustMatchCertificate) {
  ContextOptions c = ClientOptions();
  c.certificate_chain_pem = GetTestPki().client.cert_pem;
  c.private_key_pem = GetTestPki().server.key_pem;
  auto bad = Context::Create(c);
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(Msg(bad.status()), HasSubstr("private key"));
}

TEST(Alpn, NegotiatedInServerPreference) {
  ContextOptions s = ServerOptions();
  s.alpn_protocols = {"ftp", "http/1.1"};
  auto server = TestTlsServer::Start(MustCreate(s));
  ASSERT_TRUE(server.ok());
  ContextOptions c = ClientOptions();
  c.alpn_protocols = {"http/1.1", "ftp"};
  auto conn =
      Connection::Connect(MustCreate(c), "localhost", (*server)->port());
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ((*conn)->alpn_protocol(), "ftp");
  ASSERT_TRUE((*conn)->Shutdown().ok());
  ContextOptions none = ClientOptions();
  auto plain =
      Connection::Connect(MustCreate(none), "localhost", (*server)->port());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->alpn_protocol(), "");
}

TEST(KeyLog, WritesNssLines) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  ContextOptions c = ClientOptions();
  c.keylog_file = MakeTempDir() + "/keys.log";
  ASSERT_TRUE(RunClient(MustCreate(c), (*server)->port()).ok());
  std::ifstream in(c.keylog_file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("CLIENT_HANDSHAKE_TRAFFIC_SECRET "));
  EXPECT_THAT(text.str(), HasSubstr("CLIENT_TRAFFIC_SECRET_0 "));
}

TEST(KeyLog, EnvironmentVariable) {
  setenv("SSLKEYLOGFILE", "/tmp/x.keys", 1);
  EXPECT_EQ(KeyLogFileFromEnvironment(), "/tmp/x.keys");
  unsetenv("SSLKEYLOGFILE");
  EXPECT_EQ(KeyLogFileFromEnvironment(), "");
}

// A raw TCP peer that does |behaviour| with the accepted socket.
class RawPeer {
 public:
  explicit RawPeer(std::function<void(int)> behaviour)
      : listener_(*TcpListener::Listen("127.0.0.1", 0)) {
    thread_ = std::thread([this, behaviour] {
      auto fd = listener_.Accept(absl::Seconds(10));
      if (fd.ok()) behaviour(fd->get());
    });
  }
  ~RawPeer() { thread_.join(); }
  uint16_t port() const { return listener_.port(); }

 private:
  TcpListener listener_;
  std::thread thread_;
};

TEST(BadPeers, GarbageInsteadOfServerHello) {
  RawPeer peer([](int fd) {
    char buf[512];
    (void)read(fd, buf, sizeof(buf));
    const char reply[] = "HTTP/1.0 400 Bad Request\r\n\r\nnot TLS at all";
    (void)write(fd, reply, sizeof(reply) - 1);
  });
  auto conn = Connection::Connect(MustCreate(ClientOptions()), "localhost",
                                  peer.port());
  ASSERT_FALSE(conn.ok());
  EXPECT_THAT(Msg(conn.status()), HasSubstr("TLS handshake with"));
  EXPECT_THAT(Msg(conn.status()), HasSubstr("WRONG_VERSION_NUMBER"));
}

TEST(BadPeers, CloseMidHandshake) {
  RawPeer peer([](int fd) {
    char buf[64];
    (void)read(fd, buf, sizeof(buf));  // Part of the ClientHello, then close.
  });
  auto conn = Connection::Connect(MustCreate(ClientOptions()), "localhost",
                                  peer.port());
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Msg(conn.status()), HasSubstr("localhost:"));
}

TEST(BadPeers, SilentPeerTimesOut) {
  // The peer says nothing until the client has given up, however long the
  // client takes to get there (a fixed stall could end first in a slow
  // build, and the client would see a close rather than its timeout).
  std::promise<void> client_gave_up;
  std::shared_future<void> released = client_gave_up.get_future().share();
  RawPeer peer([released](int fd) { released.wait(); });
  ContextOptions c = ClientOptions();
  c.io_timeout = absl::Milliseconds(300);
  auto conn = Connection::Connect(MustCreate(c), "localhost", peer.port());
  client_gave_up.set_value();  // Before any ASSERT: ~RawPeer joins the peer.
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(Msg(conn.status()), HasSubstr("timed out"));
}

TEST(BadPeers, ResetPeerIsAnErrorNotSigpipe) {
  // The server resets the connection right after the handshake; the client
  // keeps writing. Without MSG_NOSIGNAL this would kill the test process.
  auto server = TestTlsServer::Start(
      MustCreate(ServerOptions()), [](Connection& c) -> absl::Status {
        linger l{1, 0};  // Close with a TCP reset.
        setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        ::close(dup(c.fd()));
        ::shutdown(c.fd(), SHUT_RDWR);
        return absl::OkStatus();
      });
  ASSERT_TRUE(server.ok());
  auto conn = Connection::Connect(MustCreate(ClientOptions()), "localhost",
                                  (*server)->port());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*server)->WaitForServed(1));
  absl::Status last;
  const std::string chunk(16384, 'x');
  for (int i = 0; i < 100 && last.ok(); ++i) last = (*conn)->Write(chunk);
  EXPECT_FALSE(last.ok());
  EXPECT_THAT(Msg(last), HasSubstr("TLS write with localhost:"));
  EXPECT_FALSE((*conn)->Shutdown().ok());
}

TEST(Wire, CountsBytesBothWays) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto conn = Connection::Connect(MustCreate(ClientOptions()), "localhost",
                                  (*server)->port());
  ASSERT_TRUE(conn.ok());
  const WireCounters after_handshake = (*conn)->wire();
  EXPECT_GT(after_handshake.bytes_written, 100u);  // ClientHello and more.
  EXPECT_GT(after_handshake.bytes_read, 500u);     // Server flight with cert.
  ASSERT_TRUE((*conn)->Write(std::string(1000, 'y')).ok());
  EXPECT_GE((*conn)->wire().bytes_written,
            after_handshake.bytes_written + 1000);
  ASSERT_TRUE((*conn)->Shutdown().ok());
}

TEST(Shutdown, CleanCloseReadsZeroAndTruncationIsAnError) {
  // A server that writes "hello" and closes cleanly.
  auto clean = TestTlsServer::Start(MustCreate(ServerOptions()),
                                    [](Connection& c) -> absl::Status {
                                      if (auto s = c.Write("hello"); !s.ok())
                                        return s;
                                      return c.Shutdown();
                                    });
  ASSERT_TRUE(clean.ok());
  auto conn = Connection::Connect(MustCreate(ClientOptions()), "localhost",
                                  (*clean)->port());
  ASSERT_TRUE(conn.ok());
  std::string got;
  char buf[16];
  for (;;) {
    auto n = (*conn)->Read(buf, sizeof(buf));
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, "hello");
  EXPECT_TRUE((*conn)->Shutdown().ok());

  // A server that writes "hello" and drops TCP without close_notify.
  auto rude = TestTlsServer::Start(MustCreate(ServerOptions()),
                                   [](Connection& c) -> absl::Status {
                                     auto s = c.Write("hello");
                                     ::shutdown(c.fd(), SHUT_RDWR);
                                     return s;
                                   });
  ASSERT_TRUE(rude.ok());
  auto conn2 = Connection::Connect(MustCreate(ClientOptions()), "localhost",
                                   (*rude)->port());
  ASSERT_TRUE(conn2.ok());
  absl::Status last;
  for (int i = 0; i < 10; ++i) {
    auto n = (*conn2)->Read(buf, sizeof(buf));
    if (!n.ok()) {
      last = n.status();
      break;
    }
    ASSERT_NE(*n, 0u) << "truncation must not look like a clean close";
  }
  EXPECT_THAT(Msg(last), HasSubstr("without close_notify"));
}

}  // namespace
}  // namespace tlsession::testing
