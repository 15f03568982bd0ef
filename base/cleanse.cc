#include "base/cleanse.h"

#include <openssl/mem.h>

namespace tlsession {

void CleanseString(std::string* secret) {
  if (secret->capacity() > 0) OPENSSL_cleanse(&(*secret)[0], secret->capacity());
  secret->clear();
}

}  // namespace tlsession
