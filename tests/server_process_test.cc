// testbed/server_process.h: a server is ready on its own word (a line it
// prints, a listening socket it holds), never because something answers on
// its port; a port taken meanwhile is retried on another; failures quote
// the command and the output. The children are /bin/sh and
// `openssl s_server` (the real peer the interop tests use).
#include "testbed/server_process.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "tls/socket.h"

namespace tlsession::testing {
namespace {

// `openssl s_server` on 127.0.0.1:|port| with the test PKI: prints "ACCEPT"
// after listen(2).
std::vector<std::string> SServer(uint16_t port) {
  const TestPki& pki = GetTestPki();
  return {"/usr/bin/openssl",
          "s_server",
          "-accept",
          absl::StrCat("127.0.0.1:", port),
          "-cert",
          pki.server_cert_file(),
          "-key",
          pki.server_key_file(),
          "-www"};
}

// A spec whose command is |argv| for the port; counts its calls in |calls|.
ServerSpec SpecOf(std::function<std::vector<std::string>(uint16_t)> argv,
                  int* calls) {
  ServerSpec spec;
  spec.name = "test server";
  spec.log_path = MakeTempDir() + "/server.log";
  spec.command =
      [argv, calls](uint16_t port) -> absl::StatusOr<std::vector<std::string>> {
    ++*calls;
    return argv(port);
  };
  return spec;
}

TEST(ServerProcessTest, WaitsForTheReadyLineWithThePortInIt) {
  int calls = 0;
  ServerSpec spec = SpecOf(
      [](uint16_t port) {
        return std::vector<std::string>{
            "/bin/sh", "-c", "sleep 0.2; echo \"up on $0\"; exec sleep 60",
            absl::StrCat(port)};
      },
      &calls);
  spec.ready_line = "up on {port}";
  auto server = ServerProcess::Start(spec);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE((*server)->child().Running());
  EXPECT_TRUE(absl::StrContains((*server)->log(),
                                absl::StrCat("up on ", (*server)->port())));
}

TEST(ServerProcessTest, ExitBeforeReadyQuotesCommandAndOutputWithoutRetry) {
  int calls = 0;
  ServerSpec spec = SpecOf(
      [](uint16_t) {
        return std::vector<std::string>{"/bin/sh", "-c",
                                        "echo bad config line 7; exit 3"};
      },
      &calls);
  spec.ready_line = "ready";
  auto server = ServerProcess::Start(spec);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(calls, 1);  // Not a lost race for the port: no second attempt.
  const std::string message(server.status().message());
  EXPECT_TRUE(absl::StrContains(message, "'/bin/sh -c echo bad config"))
      << message;
  EXPECT_TRUE(absl::StrContains(message, "exit code 3")) << message;
  EXPECT_TRUE(absl::StrContains(message, "bad config line 7\n")) << message;
}

TEST(ServerProcessTest, PortTakenMeanwhileIsRetriedOnAnotherPort) {
  int calls = 0;
  uint16_t first_port = 0;
  std::vector<TcpListener> squatters;  // Another holder of the first port.
  ServerSpec spec = SpecOf(
      [&](uint16_t port) {
        if (first_port == 0) {
          first_port = port;
          auto taken = TcpListener::Listen("127.0.0.1", port);
          if (taken.ok()) squatters.push_back(std::move(*taken));
        }
        return SServer(port);
      },
      &calls);
  spec.ready_line = "ACCEPT";
  auto server = ServerProcess::Start(spec);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_EQ(squatters.size(), 1u);
  EXPECT_EQ(calls, 2);
  EXPECT_NE((*server)->port(), first_port);
  EXPECT_TRUE(
      HoldsListeningSocket((*server)->child().pid(), false, (*server)->port()));
}

TEST(ServerProcessTest, AnotherProcessListeningOnThePortIsNotReadiness) {
  auto squatter = TcpListener::Listen("127.0.0.1", 0);
  ASSERT_TRUE(squatter.ok()) << squatter.status();
  const uint16_t port = squatter->port();
  // A TCP probe would succeed: this process listens there.
  ASSERT_TRUE(ConnectTcp("127.0.0.1", port, absl::Seconds(1)).ok());
  EXPECT_TRUE(HoldsListeningSocket(getpid(), false, port));
  int calls = 0;
  ServerSpec spec = SpecOf(
      [](uint16_t) {
        return std::vector<std::string>{"/bin/sleep", "60"};
      },
      &calls);
  spec.listening_socket = true;
  spec.timeout = absl::Milliseconds(300);
  auto server = ServerProcess::StartOnPort(spec, port);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(
      absl::StrContains(server.status().message(), "its listening socket"))
      << server.status();
}

TEST(ServerProcessTest, ListeningSocketOfAProcessInTheChildsGroup) {
  int calls = 0;
  // The socket belongs to a grandchild; /bin/sh (the child) holds none.
  ServerSpec spec = SpecOf(
      [](uint16_t port) {
        std::vector<std::string> s_server = SServer(port);
        std::string line;
        for (const std::string& a : s_server) absl::StrAppend(&line, a, " ");
        return std::vector<std::string>{"/bin/sh", "-c", line + "& wait"};
      },
      &calls);
  spec.listening_socket = true;
  spec.own_process_group = true;
  auto server = ServerProcess::Start(spec);
  ASSERT_TRUE(server.ok()) << server.status();
  const pid_t shell = (*server)->child().pid();
  EXPECT_FALSE(HoldsListeningSocket(shell, false, (*server)->port()));
  EXPECT_TRUE(HoldsListeningSocket(shell, true, (*server)->port()));
  EXPECT_TRUE(
      ConnectTcp("127.0.0.1", (*server)->port(), absl::Seconds(1)).ok());
}

}  // namespace
}  // namespace tlsession::testing
