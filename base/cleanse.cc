#include "base/cleanse.h"

#include <openssl/mem.h>

#include <algorithm>

namespace tlsession {

void CleanseString(std::string* secret) {
  // Every byte up to the capacity becomes part of the string first, so that
  // the whole buffer is written through the string's own storage.
  secret->resize(secret->capacity());
  if (!secret->empty()) OPENSSL_cleanse(&(*secret)[0], secret->size());
  secret->clear();
}

void AppendWiping(std::string* secret, const char* data, size_t size) {
  const size_t needed = secret->size() + size;
  if (needed > secret->capacity()) {
    std::string grown;
    grown.reserve(std::max(needed, 2 * secret->capacity()));
    grown.append(*secret);
    CleanseString(secret);
    secret->swap(grown);
    CleanseString(&grown);  // The old buffer, now wiped twice; freed here.
  }
  secret->append(data, size);
}

}  // namespace tlsession
