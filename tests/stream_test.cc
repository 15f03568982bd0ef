// Both Streams, TcpStream (in clear) and Connection (TLS 1.2 and 1.3),
// through the Stream interface over real sockets on 127.0.0.1: what code
// above tls/ relies on, the same for both.
#include "tls/stream.h"

#include <sys/socket.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tls_test_util.h"
#include "tls/connection.h"
#include "tls/socket.h"
#include "tls/tcp_stream.h"

namespace tlsession::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(10);

enum class Kind { kTcp, kTls12, kTls13 };

std::string KindName(Kind k) {
  switch (k) {
    case Kind::kTcp:
      return "tcp";
    case Kind::kTls12:
      return "tls12";
    case Kind::kTls13:
      return "tls13";
  }
  return "?";
}

// Two connected sockets on loopback: the client's and the server's.
void TcpPair(OwnedFd* client, OwnedFd* server) {
  absl::StatusOr<TcpListener> listener = TcpListener::Listen("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok()) << listener.status();
  absl::StatusOr<OwnedFd> c =
      ConnectTcp("127.0.0.1", listener->port(), kTimeout);
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<OwnedFd> s = listener->Accept(kTimeout);
  ASSERT_TRUE(s.ok()) << s.status();
  *client = *std::move(c);
  *server = *std::move(s);
}

// Waits for |stream| to have input: the socket turns readable, and what
// arrived is input (TLS 1.3 tickets, which may come first, are not).
bool EventuallyHasInput(Stream& stream) {
  const absl::Time deadline = absl::Now() + kTimeout;
  while (WaitForFd(stream.fd(), false, deadline).ok()) {
    if (stream.HasBufferedInput()) return true;
  }
  return false;
}

class StreamTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    OwnedFd client_fd, server_fd;
    ASSERT_NO_FATAL_FAILURE(TcpPair(&client_fd, &server_fd));
    if (GetParam() == Kind::kTcp) {
      client_ =
          Must(TcpStream::Create(std::move(client_fd), "localhost", kTimeout));
      server_ = Must(TcpStream::Create(std::move(server_fd), "", kTimeout));
      return;
    }
    const Resumption mode = GetParam() == Kind::kTls13
                                ? Resumption::kTls13
                                : Resumption::kTls12Ticket;
    ContextOptions client_options = ClientOptions();
    if (mode != Resumption::kTls13) client_options.max_version = TLS1_2_VERSION;
    auto client = Connection::Create(MustCreate(client_options),
                                     std::move(client_fd), "localhost");
    auto server = Connection::Create(MustCreate(ServerOptions(mode)),
                                     std::move(server_fd), "");
    ASSERT_TRUE(client.ok() && server.ok());
    client_tls_ = client->get();
    absl::Status server_handshake;
    std::thread t([&] { server_handshake = (*server)->Handshake(); });
    absl::Status client_handshake = (*client)->Handshake();
    t.join();
    ASSERT_TRUE(client_handshake.ok()) << client_handshake;
    ASSERT_TRUE(server_handshake.ok()) << server_handshake;
    client_ = *std::move(client);
    server_ = *std::move(server);
  }

  template <typename T>
  static std::unique_ptr<Stream> Must(absl::StatusOr<std::unique_ptr<T>> s) {
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  // Reads exactly |n| bytes from |stream|.
  static std::string ReadExactly(Stream& stream, size_t n) {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      absl::StatusOr<size_t> r = stream.Read(&out[got], n - got);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok() || *r == 0) break;
      got += *r;
    }
    out.resize(got);
    return out;
  }

  std::unique_ptr<Stream> client_;
  std::unique_ptr<Stream> server_;
  Connection* client_tls_ = nullptr;  // |client_| under TLS.
};

TEST_P(StreamTest, MovesBytesBothWays) {
  ASSERT_TRUE(client_->Write("hello").ok());
  EXPECT_EQ(ReadExactly(*server_, 5), "hello");
  const std::string big(1 << 20, 'b');
  std::thread t([&] { EXPECT_TRUE(server_->Write(big).ok()); });
  EXPECT_EQ(ReadExactly(*client_, big.size()), big);
  t.join();
}

TEST_P(StreamTest, HasBufferedInputSeesWhatAReadLeft) {
  ASSERT_TRUE(server_->Write("ab").ok());
  char c = 0;
  absl::StatusOr<size_t> n = client_->Read(&c, 1);
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(c, 'a');
  // "b" came with "a" (one write, one TCP segment, one TLS record): it is
  // in the socket's buffer, or decrypted in the TLS one.
  EXPECT_TRUE(client_->HasBufferedInput());
  EXPECT_EQ(ReadExactly(*client_, 1), "b");
  EXPECT_FALSE(client_->HasBufferedInput());
}

TEST_P(StreamTest, TheEndOfTheStreamIsInputThenZero) {
  absl::Status server_end;
  std::thread t([&] { server_end = server_->Shutdown(); });
  // The peer's end (FIN or close_notify) arrives: Read() would not wait.
  EXPECT_TRUE(EventuallyHasInput(*client_));
  char c;
  absl::StatusOr<size_t> n = client_->Read(&c, 1);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(client_->Shutdown().ok());
  EXPECT_TRUE(client_->Shutdown().ok());  // Idempotent.
  t.join();
  EXPECT_TRUE(server_end.ok()) << server_end;
}

TEST_P(StreamTest, NamesItsPeer) {
  EXPECT_THAT(client_->peer_name(), HasSubstr("localhost"));
  EXPECT_GE(client_->fd(), 0);
}

INSTANTIATE_TEST_SUITE_P(Kinds, StreamTest,
                         ::testing::Values(Kind::kTcp, Kind::kTls12,
                                           Kind::kTls13),
                         [](const auto& info) { return KindName(info.param); });

TEST(TlsStreamTest, TicketsAloneAreNotInput) {
  OwnedFd client_fd, server_fd;
  ASSERT_NO_FATAL_FAILURE(TcpPair(&client_fd, &server_fd));
  auto client = Connection::Create(MustCreate(ClientOptions()),
                                   std::move(client_fd), "localhost");
  auto server =
      Connection::Create(MustCreate(ServerOptions()), std::move(server_fd), "");
  ASSERT_TRUE(client.ok() && server.ok());
  std::thread t([&] { EXPECT_TRUE((*server)->Handshake().ok()); });
  ASSERT_TRUE((*client)->Handshake().ok());
  t.join();
  // The server sent its TLS 1.3 tickets after the handshake, and nothing
  // else: the socket is readable, yet a Read() would wait.
  ASSERT_TRUE(WaitForFd((*client)->fd(), false, absl::Now() + kTimeout).ok());
  EXPECT_FALSE((*client)->HasBufferedInput());
  EXPECT_GT((*client)->sessions_received(), 0);
  // Data after them is input.
  ASSERT_TRUE((*server)->Write("x").ok());
  EXPECT_TRUE(EventuallyHasInput(**client));
}

TEST(TcpStreamTest, ReleaseHandsTheSocketOnToTls) {
  OwnedFd client_fd, server_fd;
  ASSERT_NO_FATAL_FAILURE(TcpPair(&client_fd, &server_fd));
  auto plain = TcpStream::Create(std::move(client_fd), "localhost", kTimeout);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ((*plain)->peer().address, "127.0.0.1");
  EXPECT_EQ((*plain)->peer_name(),
            absl::StrCat("localhost:", (*plain)->peer().port));
  ASSERT_TRUE((*plain)->Write("STARTTLS\n").ok());
  char buf[9];
  ASSERT_EQ(recv(server_fd.get(), buf, sizeof(buf), MSG_WAITALL), 9);
  // As FTP's AUTH TLS: the same socket, now under TLS.
  auto client = Connection::Create(MustCreate(ClientOptions()),
                                   (*plain)->Release(), "localhost");
  auto server =
      Connection::Create(MustCreate(ServerOptions()), std::move(server_fd), "");
  ASSERT_TRUE(client.ok() && server.ok());
  std::thread t([&] {
    EXPECT_TRUE((*server)->Handshake().ok());
    EXPECT_TRUE((*server)->Write("secured").ok());
  });
  std::unique_ptr<Stream> secured = *std::move(client);
  char got[7];
  size_t have = 0;
  while (have < sizeof(got)) {
    absl::StatusOr<size_t> n = secured->Read(got + have, sizeof(got) - have);
    ASSERT_TRUE(n.ok()) << n.status();
    ASSERT_GT(*n, 0u);
    have += *n;
  }
  t.join();
  EXPECT_EQ(std::string(got, sizeof(got)), "secured");
  // The released stream is closed for good.
  absl::StatusOr<size_t> n = (*plain)->Read(buf, 1);
  EXPECT_EQ(n.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE((*plain)->HasBufferedInput());
}

}  // namespace
}  // namespace tlsession::testing
