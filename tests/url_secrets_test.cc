// The one URL redaction (base/redact_url.h) and every URL parser's error
// paths: a password never reaches a message, whatever the URL's mistake.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "base/redact_url.h"
#include "fleet/fleet_setup.h"
#include "fleet/redis_url.h"
#include "ftp_adapter/url.h"

namespace tlsession {
namespace {

TEST(RedactUrlTest, HidesThePasswordOfEverySpelling) {
  EXPECT_EQ(RedactUrl("ftp://u:pw@host/a"), "ftp://u:***@host/a");
  EXPECT_EQ(RedactUrl("ftp://u:p/w@host/a"), "ftp://u:***@host/a");
  EXPECT_EQ(RedactUrl("ftp:/u:pw@host"), "ftp:***@host");
  EXPECT_EQ(RedactUrl("u:pw@host/a"), "u:***@host/a");
  EXPECT_EQ(RedactUrl("rediss://:PW@host"), "rediss://:***@host");
  EXPECT_EQ(RedactUrl("redis://u:p@ss@h:1/db"), "redis://u:***@h:1/db");
  // No ':' before the '@': maybe a password typed without its ':'.
  EXPECT_EQ(RedactUrl("redis://pw-only@h:1"), "redis://***@h:1");
  EXPECT_EQ(RedactUrl("ftp://u@host/a:b"), "ftp://***@host/a:b");
  // No '@': a password may be anywhere after "://".
  EXPECT_EQ(RedactUrl("redis://:pw-no-at:6379"), "redis://***");
  EXPECT_EQ(RedactUrl("redis:/:pw:6379"), "redis:***");
  EXPECT_EQ(RedactUrl("a:pw"), "a:***");
}

TEST(RedactUrlTest, LeavesTextWithoutCredentialsAlone) {
  for (const char* text :
       {"redis://h:6379", "redis://[::1]:6379", "ftp://host/dir/a:b",
        "ftps://host:990/", "memory", "dir/file.txt", "dir/a:b",
        "127.0.0.1:6379", "", "redis://@h:1"}) {
    EXPECT_EQ(RedactUrl(text), text);
  }
}

TEST(RedactUrlTest, MaskKeepsTheLengthAndHidesTheSameRange) {
  for (const char* text :
       {"rediss://:hunter2@h:1", "redis://u:pw@h", "ftp://pw-only@h/",
        "redis://:pw-no-at:6379", "redis://h:6379", "memory"}) {
    std::string masked = text;
    MaskUrlSecret(&masked[0]);
    ASSERT_EQ(masked.size(), strlen(text));
    const UrlSecretRange r = FindUrlSecret(text);
    EXPECT_EQ(masked,
              std::string(text).replace(r.begin, r.end - r.begin,
                                        std::string(r.end - r.begin, '*')));
    EXPECT_EQ(masked.find("pw"), std::string::npos) << masked;
    EXPECT_EQ(masked.find("hunter2"), std::string::npos) << masked;
  }
}

constexpr char kSecret[] = "S3CRET";

// Malformed URLs, each holding kSecret where a user meant a password, with
// SCHEME in place of the scheme.
std::vector<std::string> BadUrls(const std::string& scheme) {
  std::vector<std::string> out;
  for (const char* pattern : {
           "SCHEMEs://:S3CRET@host",          // A mistyped scheme.
           "SCHEMEss://u:S3CRET@host:1",      // Another.
           "SCHEME:/:S3CRET@host",            // One slash.
           "SCHEME//:S3CRET@host",            // No colon.
           "SCHEME://S3CRET@host:1",          // No ':' before the password.
           "SCHEME://:S3CRET:6379",           // No '@'.
           "SCHEME://u:S3CRET@host:99999",    // A bad port.
           "SCHEME://u:S3CRET@host:po",       // A port that is not digits.
           "SCHEME://u:S3CRET@ho st",         // A bad host.
           "SCHEME://u:S3CRET@[::1",          // An unclosed '['.
           "SCHEME://u:S3CRET@host/db?x#y",   // A path, query, fragment.
           "SCHEME://u:S3CRET%zz@host",       // A bad escape.
           "SCHEME://u:S3CRET/x@host:1",      // A '/' in the password.
           "SCHEME://u:S3CRET@",              // No host.
           "SCHEME://u:S3CRET@@host",         // Two '@'.
           "SCHEME://u:S3CRET%0d%0a@host/f",  // CR LF once decoded.
       }) {
    out.push_back(absl::StrReplaceAll(pattern, {{"SCHEME", scheme}}));
  }
  return out;
}

// Expects |status|, about |url|, not to quote kSecret.
void ExpectNoSecret(const absl::Status& status, const std::string& url) {
  EXPECT_FALSE(absl::StrContains(status.message(), kSecret))
      << url << " -> " << status;
}

TEST(UrlSecretsTest, RedisUrlErrorsNeverQuoteThePassword) {
  for (const std::string& url : BadUrls("redis")) {
    ExpectNoSecret(fleet::ParseRedisUrl(url).status(), url);
    ExpectNoSecret(fleet::ParseSessionStoreSetting(url).status(), url);
    ExpectNoSecret(fleet::ParseTicketKeySetting(url).status(), url);
  }
  // A mistyped scheme is refused, naming the flag (the issue's "rediss://"
  // is TLS now; its port-less host is still refused without the password).
  const absl::Status typo =
      fleet::ParseSessionStoreSetting("redis+tls://:S3CRET@host").status();
  EXPECT_EQ(typo.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(typo.message(), "--session-store")) << typo;
  EXPECT_TRUE(absl::StrContains(typo.message(), "redis+tls://:***@host"))
      << typo;
  for (const std::string& url : BadUrls("rediss")) {
    ExpectNoSecret(fleet::ParseSessionStoreSetting(url).status(), url);
  }
  for (const std::string& url : BadUrls("redis-sentinel")) {
    ExpectNoSecret(fleet::ParseSessionStoreSetting(url).status(), url);
  }
}

TEST(UrlSecretsTest, FtpUrlErrorsNeverQuoteThePassword) {
  const absl::StatusOr<ftp::FtpUrl> from =
      ftp::ParseFtpUrl("ftp://u:S3CRET@host/dir/a");
  ASSERT_TRUE(from.ok()) << from.status();
  EXPECT_FALSE(absl::StrContains(from->ToString(), kSecret));
  for (const std::string& url : BadUrls("ftp")) {
    const absl::StatusOr<ftp::FtpUrl> parsed = ftp::ParseFtpUrl(url);
    // "ftp://S3CRET@host" is a user name to FTP (the password is asked
    // for), shown as one.
    if (parsed.ok() && parsed->user == kSecret) continue;
    if (parsed.ok()) {
      EXPECT_FALSE(absl::StrContains(parsed->ToString(), kSecret)) << url;
    } else {
      ExpectNoSecret(parsed.status(), url);
    }
    ExpectNoSecret(ftp::RenameTarget(*from, url).status(), url);
  }
  ExpectNoSecret(ftp::RenameTarget(*from, "ftp://v:S3CRET@other/b").status(),
                 "another server");
}

}  // namespace
}  // namespace tlsession
