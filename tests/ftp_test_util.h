// Small helpers shared by the tests of the FTP parsers (ftp_*_test.cc).
#ifndef TLSESSION_TESTS_FTP_TEST_UTIL_H_
#define TLSESSION_TESTS_FTP_TEST_UTIL_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"

namespace tlsession::testing {

// Returns the bytes of |literal|, embedded NULs included (its terminating
// NUL excluded).
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// Returns |status|'s message as a std::string, for gMock matchers (Debian's
// Abseil has its own string_view, which gMock prints byte by byte).
inline std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_FTP_TEST_UTIL_H_
