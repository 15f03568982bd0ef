// The one wipe: secrets (passwords, keys, serialized sessions) are erased
// from memory once used, with OPENSSL_cleanse, which the compiler cannot
// optimize away. Secret (base/secret.h) wipes with it too.
#ifndef TLSESSION_BASE_CLEANSE_H_
#define TLSESSION_BASE_CLEANSE_H_

#include <string>

namespace tlsession {

// Overwrites every byte of |secret|'s buffer (its capacity, not only its
// size) with zeros, then empties it. The buffer stays allocated.
void CleanseString(std::string* secret);

}  // namespace tlsession

#endif  // TLSESSION_BASE_CLEANSE_H_
