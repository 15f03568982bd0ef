// The one wipe: secrets (passwords, keys, serialized sessions) are erased
// from memory once used, with OPENSSL_cleanse, which the compiler cannot
// optimize away. Secret (base/secret.h) wipes with it too.
#ifndef TLSESSION_BASE_CLEANSE_H_
#define TLSESSION_BASE_CLEANSE_H_

#include <cstddef>
#include <string>

namespace tlsession {

// Overwrites every byte of |secret|'s buffer (its capacity, not only its
// size) with zeros, then empties it. The buffer stays allocated.
void CleanseString(std::string* secret);

// Appends the |size| bytes at |data| to |*secret|. When |*secret| must
// grow, its bytes move to a new buffer (at least twice the old capacity) and
// the old buffer is wiped before it is freed: std::string's own growth
// frees it unwiped, leaving a copy of the secret behind.
void AppendWiping(std::string* secret, const char* data, size_t size);

}  // namespace tlsession

#endif  // TLSESSION_BASE_CLEANSE_H_
