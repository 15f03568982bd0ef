// The FTPS client against real vsftpd and ProFTPD on loopback, both
// requiring TLS and TLS session reuse on data connections. Every data
// connection must resume the control connection's session.
#include "ftp_adapter/ftps_client.h"

#include "session/client_session_cache.h"

#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "testbed/data.h"
#include "testbed/ftp_servers.h"
#include "tests/tls_test_util.h"

namespace tlsession::testing {
namespace {

using ftp::ClientOptions;
using ftp::FtpsClient;
using ::testing::HasSubstr;

using ServerCase = FtpServerCase;

class FtpsServerTest : public ::testing::TestWithParam<ServerCase> {
 protected:
  void SetUp() override {
    auto server = FtpServer::Start(GetParam().Options());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    local_dir_ = MakeTempDir();
  }

  ClientOptions Options() {
    ContextOptions tls;
    tls.ca_pem = server_->ca_pem();
    tls.io_timeout = absl::Seconds(20);
    ClientOptions o;
    o.tls_context = MustCreate(tls);
    o.implicit_tls = GetParam().implicit_tls;
    o.timeout = absl::Seconds(20);
    o.trace = [this](absl::string_view line) {
      trace_.push_back(std::string(line));
    };
    return o;
  }

  std::unique_ptr<FtpsClient> Login(ClientOptions o) {
    auto client = FtpsClient::Connect("localhost", server_->port(), o);
    EXPECT_TRUE(client.ok()) << client.status() << "\n" << server_->log();
    if (!client.ok()) return nullptr;
    absl::Status s = (*client)->Login(FtpServer::kUser, FtpServer::kPassword);
    EXPECT_TRUE(s.ok()) << s << "\n" << server_->log();
    if (!s.ok()) return nullptr;
    return std::move(*client);
  }

  void ExpectAllResumed(const FtpsClient& client) {
    ASSERT_FALSE(client.data_connections().empty());
    for (const auto& d : client.data_connections()) {
      EXPECT_TRUE(d.tls) << d.command;
      EXPECT_TRUE(d.session_reused) << "data connection " << d.number << " ("
                                    << d.command << ") did not resume";
      EXPECT_EQ(d.version, GetParam().max_version == TLS1_3_VERSION
                               ? "TLSv1.3"
                               : "TLSv1.2");
    }
  }

  void ExpectCleanServerLog() {
    EXPECT_THAT(server_->log(),
                ::testing::Not(HasSubstr(
                    "DATA connection terminated without SSL shutdown")));
  }

  std::string Local(const std::string& name) {
    return absl::StrCat(local_dir_, "/", name);
  }

  std::unique_ptr<FtpServer> server_;
  std::string local_dir_;
  std::vector<std::string> trace_;
};

TEST_P(FtpsServerTest, LoginUploadListDownloadWithEveryDataConnectionResumed) {
  auto client = Login(Options());
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->control_tls_version(),
            GetParam().max_version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2");
  const std::vector<std::pair<std::string, std::string>> files = {
      {"empty.bin", ""},
      {"small.txt", "hello over FTPS\n"},
      {"big.bin", PseudoRandomBytes(20 << 20, 7)},
  };
  for (const auto& [name, contents] : files) {
    WriteFileOrDie(Local(name), contents);
    absl::Status up = client->UploadFile(Local(name), name);
    ASSERT_TRUE(up.ok()) << name << ": " << up << "\n" << server_->log();
    EXPECT_EQ(Sha256Hex(server_->GetFile(name)), Sha256Hex(contents)) << name;
  }
  auto listing = client->List();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_THAT(*listing, HasSubstr("big.bin"));
  EXPECT_THAT(*listing, HasSubstr("small.txt"));
  auto names = client->NameList();
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(*names,
              ::testing::IsSupersetOf({"empty.bin", "small.txt", "big.bin"}));
  const bool has_mlsd = GetParam().kind == FtpServerKind::kProftpd;
  auto entries = client->MachineList();
  if (has_mlsd) {
    ASSERT_TRUE(entries.ok()) << entries.status();
    bool found_big = false;
    for (const auto& e : *entries) {
      if (e.name == "big.bin") {
        found_big = true;
        EXPECT_EQ(e.type, "file");
        EXPECT_EQ(e.size, std::optional<uint64_t>(20 << 20));
        EXPECT_TRUE(e.modify.has_value());
      }
    }
    EXPECT_TRUE(found_big);
  } else {
    // vsftpd 3.0.3 has no MLSD: a clear refusal quoting the server.
    ASSERT_FALSE(entries.ok());
    EXPECT_THAT(Msg(entries.status()), HasSubstr("500"));
  }
  for (const auto& [name, contents] : files) {
    const std::string dest = Local("down-" + name);
    absl::Status down = client->DownloadFile(name, dest);
    ASSERT_TRUE(down.ok()) << name << ": " << down << "\n" << server_->log();
    EXPECT_EQ(Sha256Hex(ReadFileOrEmpty(dest)), Sha256Hex(contents)) << name;
    struct stat st;
    EXPECT_NE(stat((dest + ".part").c_str(), &st), 0);  // Renamed away.
  }
  auto size = client->Size("big.bin");
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 20u << 20);
  auto mtime = client->ModificationTime("big.bin");
  ASSERT_TRUE(mtime.ok()) << mtime.status();
  EXPECT_LT(absl::AbsDuration(*mtime - absl::Now()), absl::Hours(1));
  ASSERT_TRUE(client->Quit().ok());
  const size_t expected = has_mlsd ? 9 : 8;
  EXPECT_EQ(client->data_connections().size(), expected);
  ExpectAllResumed(*client);
  ExpectCleanServerLog();
  // -v style trace lines say how each connection went.
  const std::string last = absl::StrCat("data connection ", expected, ": ");
  EXPECT_TRUE(std::any_of(trace_.begin(), trace_.end(), [&](const auto& l) {
    return absl::StartsWith(l, last) && absl::StrContains(l, "session reused");
  }));
}

TEST_P(FtpsServerTest, DirectoriesRenameDeleteAndPaths) {
  auto client = Login(Options());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->MakeDir("sub").ok());
  ASSERT_TRUE(client->Cwd("sub").ok());
  auto pwd = client->Pwd();
  ASSERT_TRUE(pwd.ok()) << pwd.status();
  EXPECT_TRUE(absl::EndsWith(*pwd, "sub")) << *pwd;
  WriteFileOrDie(Local("a.txt"), "abc");
  ASSERT_TRUE(client->UploadFile(Local("a.txt"), "a.txt").ok());
  // APPE adds to the end.
  ASSERT_TRUE(client
                  ->Store(
                      "a.txt",
                      [done = false](char* buf, size_t len) mutable
                      -> absl::StatusOr<size_t> {
                        if (done || len < 3) return 0;
                        done = true;
                        memcpy(buf, "def", 3);
                        return 3;
                      },
                      /*append=*/true)
                  .ok());
  EXPECT_EQ(server_->GetFile("sub/a.txt"), "abcdef");
  ASSERT_TRUE(client->Rename("a.txt", "b.txt").ok());
  EXPECT_TRUE(server_->Exists("sub/b.txt"));
  EXPECT_FALSE(server_->Exists("sub/a.txt"));
  absl::Status missing = client->Delete("a.txt");
  EXPECT_FALSE(missing.ok());
  int code = 0;
  EXPECT_TRUE(ftp::IsServerRefusal(missing, &code));
  EXPECT_EQ(code, 550);
  EXPECT_THAT(Msg(missing), HasSubstr("550"));
  ASSERT_TRUE(client->Delete("b.txt").ok());
  ASSERT_TRUE(client->Cwd("..").ok());
  ASSERT_TRUE(client->RemoveDir("sub").ok());
  EXPECT_FALSE(server_->Exists("sub"));
  auto features = client->Features();
  ASSERT_TRUE(features.ok());
  EXPECT_THAT(*features, ::testing::Contains(HasSubstr("PROT")));
  ASSERT_TRUE(client->Quit().ok());
}

TEST_P(FtpsServerTest, ResumeOfAnInterruptedDownload) {
  const std::string contents = PseudoRandomBytes(3 << 20, 3);
  server_->PutFile("resume.bin", contents);
  // What an interrupted download leaves: the first part under ".part".
  const std::string dest = Local("resume.bin");
  WriteFileOrDie(dest + ".part", contents.substr(0, 1234567));
  auto client = Login(Options());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->DownloadFile("resume.bin", dest, /*resume=*/true).ok());
  EXPECT_EQ(Sha256Hex(ReadFileOrEmpty(dest)), Sha256Hex(contents));
  EXPECT_THAT(client->commands_sent(), ::testing::Contains("REST 1234567"));
  ExpectAllResumed(*client);
}

TEST_P(FtpsServerTest, ResumeNeverMixesAReplacedFile) {
  // The part file is longer than the remote file now is (it was replaced):
  // the download starts again instead of keeping stale bytes.
  const std::string contents = PseudoRandomBytes(100000, 8);
  server_->PutFile("changed.bin", contents);
  const std::string dest = Local("changed.bin");
  WriteFileOrDie(dest + ".part", PseudoRandomBytes(150000, 9));
  auto client = Login(Options());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->DownloadFile("changed.bin", dest, true).ok());
  EXPECT_EQ(Sha256Hex(ReadFileOrEmpty(dest)), Sha256Hex(contents));
  EXPECT_THAT(client->commands_sent(),
              ::testing::Not(::testing::Contains(HasSubstr("REST"))));
}

TEST_P(FtpsServerTest, ResumeOfAnInterruptedUpload) {
  const std::string contents = PseudoRandomBytes(2 << 20, 5);
  server_->PutFile("up.bin", contents.substr(0, 777777));
  WriteFileOrDie(Local("up.bin"), contents);
  auto client = Login(Options());
  ASSERT_NE(client, nullptr);
  absl::Status s = client->UploadFile(Local("up.bin"), "up.bin", true);
  ASSERT_TRUE(s.ok()) << s << "\n" << server_->log();
  EXPECT_EQ(Sha256Hex(server_->GetFile("up.bin")), Sha256Hex(contents));
  EXPECT_THAT(client->commands_sent(), ::testing::Contains("REST 777777"));
}

TEST_P(FtpsServerTest, FiftySmallDownloadsTwoCommandsEachAllResumed) {
  for (int i = 0; i < 50; ++i) {
    server_->PutFile(absl::StrCat("f", i), PseudoRandomBytes(4096, i));
  }
  auto client = Login(Options());
  ASSERT_NE(client, nullptr);
  const size_t before = client->commands_sent().size();
  for (int i = 0; i < 50; ++i) {
    const std::string dest = Local(absl::StrCat("f", i));
    absl::Status s = client->DownloadFile(absl::StrCat("f", i), dest);
    ASSERT_TRUE(s.ok()) << i << ": " << s;
    ASSERT_EQ(ReadFileOrEmpty(dest), PseudoRandomBytes(4096, i));
  }
  const auto& sent = client->commands_sent();
  // Per file: EPSV (or PASV) and RETR, nothing else.
  EXPECT_EQ(sent.size() - before, 100u);
  for (size_t i = before; i < sent.size(); i += 2) {
    EXPECT_TRUE(sent[i] == "EPSV" || sent[i] == "PASV") << sent[i];
    EXPECT_TRUE(absl::StartsWith(sent[i + 1], "RETR ")) << sent[i + 1];
  }
  ExpectAllResumed(*client);
  ExpectCleanServerLog();
}

TEST_P(FtpsServerTest, DownloadAfterUploadStillResumes) {
  // curl 7.88 under TLS 1.3: the data connection after an upload makes a
  // full handshake and ProFTPD refuses it.
  auto client = Login(Options());
  ASSERT_NE(client, nullptr);
  WriteFileOrDie(Local("x"), PseudoRandomBytes(100000, 9));
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(client->UploadFile(Local("x"), "x").ok()) << round;
    ASSERT_TRUE(client->DownloadFile("x", Local("y")).ok()) << round;
    ASSERT_TRUE(client->List().ok()) << round;
  }
  ExpectAllResumed(*client);
  ExpectCleanServerLog();
}

TEST_P(FtpsServerTest, ParallelControlConnectionsKeepTheirOwnSessions) {
  // curl --parallel mixes sessions between control connections; vsftpd then
  // answers 522 and files go missing.
  constexpr int kClients = 4;
  constexpr int kFiles = 8;
  for (int i = 0; i < kClients * kFiles; ++i) {
    server_->PutFile(absl::StrCat("p", i), PseudoRandomBytes(20000 + i, i));
  }
  ClientOptions options = Options();
  options.trace = nullptr;  // Shared by threads.
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kClients);
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto client = FtpsClient::Connect("localhost", server_->port(), options);
      if (!client.ok()) {
        errors[c] = client.status().ToString();
        return;
      }
      if (auto s = (*client)->Login(FtpServer::kUser, FtpServer::kPassword);
          !s.ok()) {
        errors[c] = s.ToString();
        return;
      }
      for (int f = c; f < kClients * kFiles; f += kClients) {
        auto s = (*client)->DownloadFile(absl::StrCat("p", f),
                                         Local(absl::StrCat("p", f)));
        if (!s.ok()) {
          errors[c] = s.ToString();
          return;
        }
      }
      for (const auto& d : (*client)->data_connections()) {
        if (!d.session_reused) errors[c] = "a data connection did not resume";
      }
      ++ok;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(ok.load(), kClients);
  for (int i = 0; i < kClients * kFiles; ++i) {
    EXPECT_EQ(ReadFileOrEmpty(Local(absl::StrCat("p", i))),
              PseudoRandomBytes(20000 + i, i));
  }
}

TEST_P(FtpsServerTest, ActiveModeResumesToo) {
  server_->PutFile("act.bin", PseudoRandomBytes(50000, 1));
  ClientOptions o = Options();
  o.passive = false;
  auto client = Login(o);
  ASSERT_NE(client, nullptr);
  absl::Status s = client->DownloadFile("act.bin", Local("act.bin"));
  ASSERT_TRUE(s.ok()) << s << "\n" << server_->log();
  EXPECT_EQ(ReadFileOrEmpty(Local("act.bin")), PseudoRandomBytes(50000, 1));
  EXPECT_THAT(client->commands_sent(),
              ::testing::Contains(::testing::StartsWith("EPRT |1|127.0.0.1|")));
  ExpectAllResumed(*client);
}

TEST_P(FtpsServerTest, WithoutReuseTheServerRefusesClearly) {
  server_->PutFile("n.bin", "data");
  ClientOptions o = Options();
  o.reuse_session = false;
  auto client = Login(o);
  ASSERT_NE(client, nullptr);
  absl::Status s = client->DownloadFile("n.bin", Local("n.bin"));
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(ftp::IsSessionReuseRefusal(s)) << s;
  EXPECT_THAT(Msg(s), HasSubstr("requires TLS session reuse"));
  EXPECT_THAT(
      Msg(s),
      HasSubstr(GetParam().kind == FtpServerKind::kVsftpd ? "522" : "425"));
  // Nothing that looks complete is left behind.
  struct stat st;
  EXPECT_NE(stat(Local("n.bin").c_str(), &st), 0);
}

TEST_P(FtpsServerTest, ControlSessionFromTheCacheServesDataConnections) {
  // A second control connection resumes from the session cache; its data
  // connections must then resume the session the control connection uses.
  // ProFTPD, by default, sends no TLS 1.2 tickets and keeps its session
  // cache per process: there the second control connection cannot resume,
  // and must still work.
  const bool control_resumes = !(GetParam().kind == FtpServerKind::kProftpd &&
                                 GetParam().max_version == TLS1_2_VERSION);
  server_->PutFile("c.bin", PseudoRandomBytes(30000, 3));
  ContextOptions tls;
  tls.ca_pem = server_->ca_pem();
  tls.session_cache = std::make_shared<ClientSessionCache>();
  ClientOptions o = Options();
  o.tls_context = MustCreate(tls);
  for (int run = 0; run < 2; ++run) {
    auto client = Login(o);
    ASSERT_NE(client, nullptr);
    EXPECT_EQ(client->control_session_reused(), run == 1 && control_resumes)
        << run;
    for (int i = 0; i < 3; ++i) {
      absl::Status s = client->DownloadFile("c.bin", Local("c.bin"));
      ASSERT_TRUE(s.ok()) << run << "/" << i << ": " << s << "\n"
                          << server_->log();
    }
    ASSERT_TRUE(client->Quit().ok());
    ExpectAllResumed(*client);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Servers, FtpsServerTest,
    ::testing::Values(
        ServerCase{FtpServerKind::kVsftpd, TLS1_3_VERSION, false},
        ServerCase{FtpServerKind::kVsftpd, TLS1_2_VERSION, false},
        ServerCase{FtpServerKind::kVsftpd, TLS1_3_VERSION, true},
        ServerCase{FtpServerKind::kProftpd, TLS1_3_VERSION, false},
        ServerCase{FtpServerKind::kProftpd, TLS1_2_VERSION, false},
        ServerCase{FtpServerKind::kProftpd, TLS1_3_VERSION, true}),
    [](const auto& info) { return info.param.Name(); });

TEST(FtpsClient, NeedsATlsContextUnlessPlaintextIsAskedFor) {
  ClientOptions o;
  auto client = FtpsClient::Connect("127.0.0.1", 1, o);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(client.status()), HasSubstr("allow_plaintext"));
}

}  // namespace
}  // namespace tlsession::testing
