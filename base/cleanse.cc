#include "base/cleanse.h"

#include <openssl/mem.h>

namespace tlsession {

void CleanseString(std::string* secret) {
  // Every byte up to the capacity becomes part of the string first, so that
  // the whole buffer is written through the string's own storage.
  secret->resize(secret->capacity());
  if (!secret->empty()) OPENSSL_cleanse(&(*secret)[0], secret->size());
  secret->clear();
}

}  // namespace tlsession
