// The ftps tool's basics that need no server: --limit-rate's syntax and
// token bucket (on an injected clock), the config file's syntax and host
// lookup, and the --json writers.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/ftps_config.h"
#include "tools/ftps_json.h"
#include "tools/ftps_rate_limit.h"

namespace tlsession::ftp {
namespace {

using ::testing::HasSubstr;

TEST(ParseRateTest, SuffixesArePowersOf1024) {
  EXPECT_EQ(ParseRate("300"), 300u);
  EXPECT_EQ(ParseRate("500k"), 500u * 1024);
  EXPECT_EQ(ParseRate("2M"), 2u << 20);
  EXPECT_EQ(ParseRate("1.5g"), uint64_t{3} << 29);
  for (const char* bad : {"", "k", "0", "-1", "1x", "abc", "2MB", "nan"}) {
    EXPECT_EQ(ParseRate(bad), std::nullopt) << bad;
  }
}

TEST(TokenBucketTest, KeepsToTheRateAfterTheBurst) {
  absl::Time now = absl::FromUnixSeconds(1000);
  TokenBucket bucket(1000, 500, [&] { return now; });
  EXPECT_EQ(bucket.Take(500), absl::ZeroDuration());  // The burst.
  EXPECT_EQ(bucket.Take(250), absl::Milliseconds(250));
  now += absl::Milliseconds(250);  // The caller waited as told.
  EXPECT_EQ(bucket.Take(1000), absl::Seconds(1));
  now += absl::Seconds(1);
  // Idle for long: never more than the burst saved up.
  now += absl::Seconds(60);
  EXPECT_EQ(bucket.Take(500), absl::ZeroDuration());
  EXPECT_EQ(bucket.Take(100), absl::Milliseconds(100));
}

TEST(TokenBucketTest, ManyTransfersTogetherKeepToOneRate) {
  absl::Time now = absl::FromUnixSeconds(1000);
  TokenBucket bucket(1 << 20, 16384, [&] { return now; });
  // 10 MiB in 16 KiB chunks, each taker waiting as told: about 10 s.
  absl::Duration waited;
  for (int i = 0; i < 640; ++i) {
    const absl::Duration wait = bucket.Take(16384);
    waited += wait;
    now += wait;
  }
  EXPECT_GE(waited, absl::Milliseconds(9980));
  EXPECT_LE(waited, absl::Seconds(10));
}

TEST(FtpsConfigTest, SectionsPerHostAndPort) {
  absl::StatusOr<FtpsConfig> config = ParseFtpsConfig(R"(
# defaults for the example server
[ftp.example.org]
cacert = /etc/ftps/example-ca.pem
cert = ~/.config/ftps/client.pem
key=~/.config/ftps/client.key

[ftp.example.org:2121]
cacert = /other.pem
[::1]
cacert = /v6.pem
)",
                                                      "/home/alice");
  ASSERT_TRUE(config.ok()) << config.status();
  HostDefaults d = DefaultsFor(*config, "ftp.example.org", 21);
  EXPECT_EQ(d.cacert, "/etc/ftps/example-ca.pem");
  EXPECT_EQ(d.cert, "/home/alice/.config/ftps/client.pem");
  EXPECT_EQ(d.key, "/home/alice/.config/ftps/client.key");
  EXPECT_EQ(DefaultsFor(*config, "ftp.example.org", 2121).cacert, "/other.pem");
  EXPECT_EQ(DefaultsFor(*config, "::1", 21).cacert, "/v6.pem");
  EXPECT_EQ(DefaultsFor(*config, "elsewhere", 21).cacert, "");
}

TEST(FtpsConfigTest, MistakesNameTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"cacert = /a.pem\n", "line 1: a setting before any [host] section"},
      {"[h]\npassword = x\n", "line 2: unknown setting 'password'"},
      {"[h]\n\njust words\n", "line 3: expected name = value"},
      {"[h\n", "line 1: a section is [host]"},
  };
  for (const auto& [text, error] : cases) {
    absl::StatusOr<FtpsConfig> config = ParseFtpsConfig(text, "/home/a");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.status().message(), HasSubstr(error)) << text;
  }
}

TEST(JsonTest, StringsAreEscapedAndServerTextMadePrintable) {
  EXPECT_EQ(JsonString("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  MlsdEntry e;
  e.name = "evil\x1b[2J.txt";
  e.facts = {{"type", "file"}, {"size", "6"}};
  const std::string json = ListingJson({e});
  EXPECT_EQ(json,
            "[\n  {\"name\": \"evil\\\\x1b[2J.txt\", \"size\": \"6\", "
            "\"type\": \"file\"}\n]\n");
  EXPECT_EQ(ListingJson({}), "[]\n");
  TransferSummary s;
  s.bytes = 6;
  s.tls_version = "TLSv1.3";
  s.data_connections = 1;
  s.data_resumed = 1;
  EXPECT_EQ(TransferJson("get", "a.txt", "/tmp/a", s),
            "{\"command\": \"get\", \"remote\": \"a.txt\", \"local\": "
            "\"/tmp/a\", \"bytes\": 6, \"resumed\": 0, \"skipped\": false, "
            "\"seconds\": 0.000, \"tls\": \"TLSv1.3\", \"data_connections\": "
            "1, \"data_resumed\": 1}\n");
}

}  // namespace
}  // namespace tlsession::ftp
