// Turning BoringSSL's thread-local error queue into readable text.
#ifndef TLSESSION_BASE_SSL_ERROR_H_
#define TLSESSION_BASE_SSL_ERROR_H_

#include <string>

namespace tlsession {

// Drains this thread's BoringSSL error queue and returns its reasons joined by
// "; " (for example "CERTIFICATE_VERIFY_FAILED"), or "" when it was empty.
std::string DrainSslErrors();

}  // namespace tlsession

#endif  // TLSESSION_BASE_SSL_ERROR_H_
