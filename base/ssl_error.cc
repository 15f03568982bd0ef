#include "base/ssl_error.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace tlsession {

std::string DrainSslErrors() {
  std::string out;
  const char* file;
  int line;
  while (uint32_t err = ERR_get_error_line(&file, &line)) {
    const char* reason = ERR_reason_error_string(err);
    const char* lib = ERR_lib_error_string(err);
    absl::StrAppend(&out, out.empty() ? "" : "; ",
                    reason ? reason : absl::StrCat("error ", err),
                    lib ? absl::StrCat(" (", lib, ")") : "");
  }
  return out;
}

}  // namespace tlsession
