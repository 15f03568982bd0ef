// The one redaction of URLs (and of any text that may hold one: a flag value,
// an FTP command's argument) about to be printed or left in argv.
#ifndef TLSESSION_BASE_REDACT_URL_H_
#define TLSESSION_BASE_REDACT_URL_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace tlsession {

// Offsets [begin, end) of the part of a text that may be a password; empty
// (begin == end) when nothing needs hiding.
struct UrlSecretRange {
  size_t begin = 0;
  size_t end = 0;
};

// Returns where |text| may hold a password. AUTHORITY starts after
// "SCHEME://" (a SCHEME without ':' whose "://" comes before the last '@'),
// else at the text's start.
//  - With an '@' after that start: from the first ':' after the start to
//    the last '@' ("redis://user:PW@host"), or, with no ':' there, all that
//    lies before the '@' (a password typed without its ':').
//  - With no '@': nothing when what follows reads as HOST[:PORT] (PORT
//    digits) up to a '/', '?' or '#'; else, after "SCHEME://", all the rest
//    ("redis://:PW:6379"), and without a scheme all after the first ':'.
// Never fails; over-redacts rather than under-redacts (a path holding ':'
// and '@').
UrlSecretRange FindUrlSecret(absl::string_view text);

// |text| with FindUrlSecret's range replaced by "***":
// "redis://user:***@host:6379", "ftp://***@host/a", "redis://***". The one
// function every tool and library uses to print a URL it did not build.
std::string RedactUrl(absl::string_view text);

// Overwrites FindUrlSecret's range of the NUL-terminated |word| with '*' in
// place (argv, which `ps` and /proc/PID/cmdline show to other users).
void MaskUrlSecret(char* word);

}  // namespace tlsession

#endif  // TLSESSION_BASE_REDACT_URL_H_
