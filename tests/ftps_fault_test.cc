// Fault injection: the FTPS client against a hostile server on loopback.
// For every fault: a clear error within the timeout, bounded memory, no file
// descriptor leaked, no partial file that looks complete, and an interrupted
// download that a later REST resume completes with the right hash.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "ftp_adapter/error_category.h"
#include "ftp_adapter/ftps_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "testbed/data.h"
#include "testbed/poll.h"
#include "testbed/subprocess.h"
#include "tests/testing/hostile_ftp_server.h"
#include "tests/tls_test_util.h"

namespace tlsession::testing {
namespace {

using ftp::ClientOptions;
using ftp::FtpsClient;
using ::testing::AnyOf;
using ::testing::HasSubstr;

// The client's timeout, for every wait.
constexpr absl::Duration kTimeout = absl::Seconds(2);

// The bound on a call that fails by its timeout, or fails at once but only
// after some work (a handshake, part of a transfer): the timeout itself, on
// the wall clock in any build, plus a margin for the work, which a sanitizer
// build slows down (testbed/poll.h).
absl::Duration WithinTheTimeout() {
  return kTimeout + Scaled(absl::Seconds(1));
}

int OpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

size_t ResidentBytes() {
  std::string statm = ReadFileOrEmpty("/proc/self/statm");
  size_t pages = 0, resident = 0;
  sscanf(statm.c_str(), "%zu %zu", &pages, &resident);
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string Payload() { return PseudoRandomBytes(3 << 20, 42); }

class FaultTest : public ::testing::Test {
 protected:
  void Start(HostileOptions o) {
    if (o.file.empty()) o.file = Payload();
    auto server = HostileFtpServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    dir_ = MakeTempDir();
    fds_before_ = OpenFds();
  }

  ClientOptions Options() {
    ContextOptions tls;
    tls.ca_pem = GetTestPki().ca.cert_pem;
    tls.io_timeout = kTimeout;
    ClientOptions o;
    o.tls_context = MustCreate(tls);
    o.timeout = kTimeout;
    o.ticket_wait = kTimeout;
    o.trace = [this](absl::string_view l) { trace_.emplace_back(l); };
    return o;
  }

  absl::StatusOr<std::unique_ptr<FtpsClient>> Login(ClientOptions o) {
    auto client = FtpsClient::Connect("localhost", server_->port(), o);
    if (!client.ok()) return client.status();
    if (auto s = (*client)->Login("user", "secret"); !s.ok()) return s;
    return client;
  }

  // Every descriptor the client opened is closed again. The server (a
  // thread of this process) closes its own when it notices that the client
  // left, which nothing announces: polled.
  void ExpectNoFdLeak() {
    PollUntil([&] { return OpenFds() <= fds_before_; },
              absl::Now() + Scaled(absl::Seconds(3)), absl::Milliseconds(10));
    EXPECT_EQ(OpenFds(), fds_before_);
  }

  std::string Local(const std::string& n) { return dir_ + "/" + n; }

  std::unique_ptr<HostileFtpServer> server_;
  std::string dir_;
  int fds_before_ = 0;
  std::vector<std::string> trace_;
};

TEST_F(FaultTest, MalformedGreeting) {
  Start({Fault::kMalformedGreeting});
  const absl::Time t0 = absl::Now();
  auto client = Login(Options());
  ASSERT_FALSE(client.ok());
  // Without waiting out the timeout (the bound stretches under sanitizers;
  // the message shows in any build that no timeout was involved).
  EXPECT_LT(absl::Now() - t0, Scaled(kTimeout));
  EXPECT_THAT(Msg(client.status()), HasSubstr("malformed reply"));
  EXPECT_THAT(Msg(client.status()), HasSubstr("hello there"));
  client = absl::InternalError("released");
  ExpectNoFdLeak();
}

TEST_F(FaultTest, TenMegabyteReplyLine) {
  Start({Fault::kHugeReplyLine});
  const size_t rss0 = ResidentBytes();
  const absl::Time t0 = absl::Now();
  auto client = Login(Options());
  ASSERT_FALSE(client.ok());
  EXPECT_LT(absl::Now() - t0, WithinTheTimeout());
  EXPECT_THAT(Msg(client.status()), HasSubstr("longer than 8192 bytes"));
  EXPECT_LT(ResidentBytes(), rss0 + (8u << 20));  // Far below 10 MB read.
  client = absl::InternalError("released");
  ExpectNoFdLeak();
}

TEST_F(FaultTest, MultiLineReplyThatNeverEnds) {
  Start({Fault::kEndlessMultiline});
  const size_t rss0 = ResidentBytes();
  const absl::Time t0 = absl::Now();
  auto client = Login(Options());
  ASSERT_FALSE(client.ok());
  EXPECT_LT(absl::Now() - t0, WithinTheTimeout());
  EXPECT_THAT(Msg(client.status()),
              AnyOf(HasSubstr("lines"), HasSubstr("timed out")));
  EXPECT_LT(ResidentBytes(), rss0 + (8u << 20));
  client = absl::InternalError("released");
  ExpectNoFdLeak();
}

TEST_F(FaultTest, NoReplyAtAll) {
  Start({Fault::kStall});
  const absl::Time t0 = absl::Now();
  auto client = Login(Options());
  ASSERT_FALSE(client.ok());
  const absl::Duration took = absl::Now() - t0;
  EXPECT_GE(took, kTimeout - absl::Milliseconds(100));
  EXPECT_LT(took, WithinTheTimeout());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(Msg(client.status()), HasSubstr("no reply"));
  client = absl::InternalError("released");
  ExpectNoFdLeak();
}

TEST_F(FaultTest, PasvAddressOfAnotherHostIsIgnored) {
  Start({Fault::kPasvOtherHost});
  {
    auto client = Login(Options());
    ASSERT_TRUE(client.ok()) << client.status();
    ASSERT_TRUE((*client)->DownloadFile("f", Local("f")).ok());
    EXPECT_EQ(Sha256Hex(ReadFileOrEmpty(Local("f"))), Sha256Hex(Payload()));
    EXPECT_THAT((*client)->commands_sent(), ::testing::Contains("PASV"));
    EXPECT_THAT(trace_, ::testing::Contains(
                            HasSubstr("ignoring the PASV address 127.0.0.2")));
  }
  {
    // Trusting it sends the data connection where the server said: nothing
    // listens on 127.0.0.2 there, so it fails, which shows where it went.
    ClientOptions o = Options();
    o.trust_pasv_address = true;
    auto client = Login(o);
    ASSERT_TRUE(client.ok());
    absl::Status s = (*client)->DownloadFile("f", Local("g"));
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(Msg(s), HasSubstr("127.0.0.2"));
    EXPECT_FALSE(Exists(Local("g")));
  }
  ExpectNoFdLeak();
}

TEST_F(FaultTest, ResetInTheMiddleOfADownloadThenResume) {
  HostileOptions o;
  o.fault = Fault::kResetDuringDownload;
  o.fault_times = 1;
  Start(o);
  const std::string dest = Local("big.bin");
  {
    auto client = Login(Options());
    ASSERT_TRUE(client.ok());
    const absl::Time t0 = absl::Now();
    absl::Status s = (*client)->DownloadFile("big.bin", dest);
    ASSERT_FALSE(s.ok());
    EXPECT_LT(absl::Now() - t0, WithinTheTimeout());
    EXPECT_THAT(Msg(s), AnyOf(HasSubstr("reset"), HasSubstr("close_notify")));
    // Nothing that looks complete; the part is kept for a resume.
    EXPECT_FALSE(Exists(dest));
    ASSERT_TRUE(Exists(dest + ".part"));
    const size_t part = ReadFileOrEmpty(dest + ".part").size();
    EXPECT_GT(part, 0u);
    EXPECT_LT(part, Payload().size());
    // The control connection survives a broken data connection.
    absl::Status again = (*client)->DownloadFile("big.bin", dest, true);
    ASSERT_TRUE(again.ok()) << again;
    EXPECT_THAT((*client)->commands_sent(),
                ::testing::Contains(absl::StrCat("REST ", part)));
  }
  EXPECT_EQ(Sha256Hex(ReadFileOrEmpty(dest)), Sha256Hex(Payload()));
  EXPECT_FALSE(Exists(dest + ".part"));
  ExpectNoFdLeak();
}

TEST_F(FaultTest, ResetInTheMiddleOfAnUploadIsReportedAsFailed) {
  Start({Fault::kResetDuringUpload});
  WriteFileOrDie(Local("up.bin"), Payload());
  {
    auto client = Login(Options());
    ASSERT_TRUE(client.ok());
    const absl::Time t0 = absl::Now();
    absl::Status s = (*client)->UploadFile(Local("up.bin"), "up.bin");
    ASSERT_FALSE(s.ok());
    EXPECT_LT(absl::Now() - t0, WithinTheTimeout());
    EXPECT_THAT(Msg(s),
                AnyOf(HasSubstr("reset"), HasSubstr("426"),
                      HasSubstr("Broken pipe"), HasSubstr("close_notify")));
  }
  EXPECT_LT(server_->uploaded().size(), Payload().size());
  ExpectNoFdLeak();
}

TEST_F(FaultTest, GarbageInTheTlsStream) {
  Start({Fault::kGarbageInDownload});
  {
    auto client = Login(Options());
    ASSERT_TRUE(client.ok());
    absl::Status s = (*client)->DownloadFile("f", Local("f"));
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(Msg(s), HasSubstr("TLS read"));
    EXPECT_FALSE(Exists(Local("f")));
  }
  ExpectNoFdLeak();
}

TEST_F(FaultTest, TlsAlertInTheMiddleOfTheStream) {
  Start({Fault::kAlertInDownload});
  {
    auto client = Login(Options());
    ASSERT_TRUE(client.ok());
    absl::Status s = (*client)->DownloadFile("f", Local("f"));
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(Msg(s), HasSubstr("ALERT_INTERNAL_ERROR"));
    EXPECT_FALSE(Exists(Local("f")));
  }
  ExpectNoFdLeak();
}

TEST_F(FaultTest, A522OnEveryDataConnection) {
  Start({Fault::kReject522});
  {
    auto client = Login(Options());
    ASSERT_TRUE(client.ok());
    for (int i = 0; i < 3; ++i) {
      absl::Status s = (*client)->DownloadFile("f", Local("f"));
      ASSERT_FALSE(s.ok());
      EXPECT_TRUE(ftp::IsSessionReuseRefusal(s)) << s;
      EXPECT_EQ(ftp::CategoryOf(s), ftp::ErrorCategory::kReuseRequired);
      EXPECT_THAT(Msg(s), HasSubstr("522 SSL connection failed"));
      EXPECT_FALSE(Exists(Local("f")));
    }
  }
  ExpectNoFdLeak();
}

TEST_F(FaultTest, RefusedProtPIsNeverDataInClear) {
  Start({Fault::kRefuseProtP});
  auto client = Login(Options());
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(Msg(client.status()),
              HasSubstr("not transferring data in clear"));
  EXPECT_THAT(Msg(client.status()), HasSubstr("536"));
  client = absl::InternalError("released");
  ExpectNoFdLeak();
}

TEST_F(FaultTest, ExpiredCertificate) {
  CertOptions c;
  c.common_name = "localhost";
  c.dns_names = {"localhost"};
  c.not_before = absl::Now() - absl::Hours(48);
  c.not_after = absl::Now() - absl::Hours(24);
  auto cert = MakeCertificate(c, &GetTestPki().ca);
  ASSERT_TRUE(cert.ok());
  HostileOptions o;
  o.cert_pem = cert->cert_pem;
  o.key_pem = cert->key_pem;
  Start(o);
  auto client = Login(Options());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Msg(client.status()), HasSubstr("certificate has expired"));
  client = absl::InternalError("released");
  ExpectNoFdLeak();
}

TEST_F(FaultTest, WrongHostCertificate) {
  CertOptions c;
  c.common_name = "other.example";
  c.dns_names = {"other.example"};
  auto cert = MakeCertificate(c, &GetTestPki().ca);
  ASSERT_TRUE(cert.ok());
  HostileOptions o;
  o.cert_pem = cert->cert_pem;
  o.key_pem = cert->key_pem;
  Start(o);
  auto client = Login(Options());
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Msg(client.status()), HasSubstr("Hostname mismatch"));
  client = absl::InternalError("released");
  ExpectNoFdLeak();
}

TEST_F(FaultTest, PlaintextWhenAllowedWarnsBeforeThePasswordAndStillWorks) {
  // The server looks, when PASS arrives, at the warnings so far.
  std::mutex mu;
  std::vector<std::string> warnings;
  std::vector<std::string> warnings_at_pass;
  HostileOptions ho;
  ho.fault = Fault::kRefuseAuthTls;
  ho.on_command = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    if (absl::StartsWith(line, "PASS ")) warnings_at_pass = warnings;
  };
  Start(ho);
  ClientOptions o = Options();
  o.allow_plaintext = true;
  o.warn = [&](absl::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    warnings.emplace_back(line);
  };
  {
    auto client = Login(o);
    ASSERT_TRUE(client.ok()) << client.status();
    // The same code path as under TLS moves the bytes, in clear.
    ASSERT_TRUE((*client)->DownloadFile("f", Local("f")).ok());
    EXPECT_EQ(Sha256Hex(ReadFileOrEmpty(Local("f"))), Sha256Hex(Payload()));
    WriteFileOrDie(Local("u"), Payload());
    absl::Status up = (*client)->UploadFile(Local("u"), "u");
    ASSERT_TRUE(up.ok()) << up;
    EXPECT_EQ(Sha256Hex(server_->uploaded()), Sha256Hex(Payload()));
    auto listing = (*client)->List();
    ASSERT_TRUE(listing.ok()) << listing.status();
    EXPECT_EQ(*listing, "file.txt\r\n");
    for (const auto& d : (*client)->data_connections()) EXPECT_FALSE(d.tls);
    EXPECT_THAT((*client)->commands_sent(),
                ::testing::Not(::testing::Contains("PBSZ 0")));
    ASSERT_TRUE((*client)->Quit().ok());
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(warnings_at_pass.size(), 1u);
  EXPECT_THAT(warnings_at_pass[0], HasSubstr("refused AUTH TLS"));
  EXPECT_THAT(warnings_at_pass[0], HasSubstr("in clear"));
  ExpectNoFdLeak();
}

TEST_F(FaultTest, ProtCMovesDataInClearUnderATlsControlConnection) {
  Start({Fault::kNone});
  ClientOptions o = Options();
  o.protect_data = false;
  auto client = Login(o);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->DownloadFile("f", Local("f")).ok());
  EXPECT_EQ(Sha256Hex(ReadFileOrEmpty(Local("f"))), Sha256Hex(Payload()));
  EXPECT_THAT((*client)->commands_sent(), ::testing::Contains("PROT C"));
  ASSERT_EQ((*client)->data_connections().size(), 1u);
  EXPECT_FALSE((*client)->data_connections()[0].tls);
  ASSERT_TRUE((*client)->Quit().ok());
}

TEST_F(FaultTest, ADataCertificateWeRefuseIsNotASessionReuseRefusal) {
  HostileOptions ho;
  ho.fault = Fault::kBadDataCertificate;
  Start(ho);
  {
    auto client = Login(Options());
    ASSERT_TRUE(client.ok());
    absl::Status s = (*client)->DownloadFile("f", Local("f"));
    ASSERT_FALSE(s.ok());
    EXPECT_FALSE(ftp::IsSessionReuseRefusal(s)) << s;
    EXPECT_EQ(ftp::CategoryOf(s), ftp::ErrorCategory::kConnection) << s;
    EXPECT_THAT(Msg(s), HasSubstr("data connection 1"));
    EXPECT_THAT(Msg(s), HasSubstr("certificate verification failed"));
    EXPECT_THAT(Msg(s), HasSubstr("425 TLS handshake failed"));
    EXPECT_FALSE(Exists(Local("f")));
    // The control connection is still in step.
    EXPECT_TRUE((*client)->Size("f").ok());
  }
  ExpectNoFdLeak();
}

TEST_F(FaultTest, WellBehavedServerWorks) {
  Start({Fault::kNone});
  auto client = Login(Options());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->DownloadFile("f", Local("f")).ok());
  WriteFileOrDie(Local("u"), "upload me");
  ASSERT_TRUE((*client)->UploadFile(Local("u"), "u").ok());
  EXPECT_EQ(server_->uploaded(), "upload me");
  EXPECT_EQ(server_->data_connections_resumed(), 2);
  ASSERT_TRUE((*client)->Quit().ok());
}

}  // namespace
}  // namespace tlsession::testing
