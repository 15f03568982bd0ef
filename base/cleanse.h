// Wiping secrets (passwords, keys) from memory once they are used, with
// OPENSSL_cleanse, which the compiler cannot optimize away.
#ifndef TLSESSION_BASE_CLEANSE_H_
#define TLSESSION_BASE_CLEANSE_H_

#include <string>

namespace tlsession {

// Overwrites every byte of |secret|'s buffer (its capacity, not only its
// size) with zeros, then empties it.
void CleanseString(std::string* secret);

}  // namespace tlsession

#endif  // TLSESSION_BASE_CLEANSE_H_
