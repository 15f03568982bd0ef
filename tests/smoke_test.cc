#include <openssl/ssl.h>
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
TEST(Smoke, Boring) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  ASSERT_NE(ctx, nullptr);
  absl::StatusOr<int> s = absl::InternalError(absl::StrCat("x", 1));
  EXPECT_FALSE(s.ok());
}
