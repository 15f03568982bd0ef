#include "ftp_adapter/url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/cleanse.h"
#include "base/redact_url.h"
#include "ftp_adapter/printable.h"

namespace tlsession::ftp {
namespace {

constexpr uint16_t kFtpPort = 21;
constexpr uint16_t kImplicitFtpsPort = 990;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The value of hex digit |c|, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True when |text| contains NUL, CR or LF.
bool HasLineBreakOrNul(absl::string_view text) {
  return text.find_first_of(absl::string_view("\0\r\n", 3)) !=
         absl::string_view::npos;
}

// True for a host name of ASCII letters, digits, '-', '.' and '_'.
bool IsHostName(absl::string_view host) {
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

// Percent-decodes |text|, the |what| part of |url|. When |secret|, errors do
// not show the bad escape.
absl::StatusOr<std::string> PercentDecode(absl::string_view text,
                                          absl::string_view what,
                                          absl::string_view url, bool secret) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int high = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      CleanseString(&out);  // Part of a password, maybe.
      return absl::InvalidArgumentError(absl::StrCat(
          "bad percent escape ",
          secret ? std::string() : QuoteExcerpt(text.substr(i, 3)) + " ",
          "in the ", what, " of FTP URL ", QuoteExcerpt(RedactUrl(url)),
          " (expected '%' and two hex digits)"));
    }
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  if (HasLineBreakOrNul(out)) {
    CleanseString(&out);
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what, " of FTP URL ", QuoteExcerpt(RedactUrl(url)),
                     " contains NUL, CR or LF, which would inject FTP "
                     "commands"));
  }
  return out;
}

// Percent-encodes all but letters, digits, "-._~" and, when |keep_slash|, '/'.
std::string PercentEncode(absl::string_view text, bool keep_slash) {
  std::string out;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' ||
        c == '~' || (keep_slash && c == '/')) {
      out += c;
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

// An error about |url| (shown redacted): |why|.
absl::Status UrlError(absl::string_view url, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("FTP URL ", QuoteExcerpt(RedactUrl(url)), ": ", why));
}

// The scheme before "://" in |url|: sets |out|'s implicit_tls and default
// port, and returns what follows "://".
absl::StatusOr<absl::string_view> ParseScheme(absl::string_view url,
                                              FtpUrl* out) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return UrlError(url, "not a URL (no \"://\"; expected ftp:// or ftps://)");
  }
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  if (scheme == "ftps") {
    out->implicit_tls = true;
  } else if (scheme != "ftp") {
    // A "scheme" with a ':' is no scheme and may hold a password.
    return UrlError(url, absl::StrCat("unknown scheme ",
                                      scheme.find(':') == std::string::npos
                                          ? QuoteExcerpt(scheme) + " "
                                          : "",
                                      "(expected ftp or ftps)"));
  }
  out->port = out->implicit_tls ? kImplicitFtpsPort : kFtpPort;
  return url.substr(scheme_end + 3);
}

// "user[:password]" of |url| into |out|.
absl::Status ParseUserInfo(absl::string_view userinfo, absl::string_view url,
                           FtpUrl* out) {
  const size_t colon = userinfo.find(':');
  absl::StatusOr<std::string> user =
      PercentDecode(userinfo.substr(0, colon), "user", url, /*secret=*/false);
  if (!user.ok()) return user.status();
  out->user = *std::move(user);
  if (colon != absl::string_view::npos) {
    absl::StatusOr<std::string> password = PercentDecode(
        userinfo.substr(colon + 1), "password", url, /*secret=*/true);
    if (!password.ok()) return password.status();
    out->password = *std::move(password);
  }
  return absl::OkStatus();
}

// "[IPv6]" or "[IPv6]:port" of |url| into |out|; |*port_text| gets the port.
absl::Status ParseBracketedHost(absl::string_view authority,
                                absl::string_view url, FtpUrl* out,
                                absl::string_view* port_text) {
  const size_t close = authority.find(']');
  if (close == absl::string_view::npos) {
    return UrlError(url, "unclosed '[' in the host");
  }
  out->host = std::string(authority.substr(1, close - 1));
  const absl::string_view after = authority.substr(close + 1);
  if (!after.empty()) {
    if (after[0] != ':') {
      return UrlError(url, absl::StrCat("unexpected ", QuoteExcerpt(after),
                                        " after ']' (expected ':port')"));
    }
    *port_text = after.substr(1);
  }
  in6_addr ignored;
  const bool hexdigits_colons_dots =
      out->host.find_first_not_of("0123456789abcdefABCDEF:.") ==
      std::string::npos;
  if (out->host.empty()) return UrlError(url, "empty host");
  if (!hexdigits_colons_dots ||
      inet_pton(AF_INET6, out->host.c_str(), &ignored) != 1) {
    return UrlError(url, absl::StrCat("host ", QuoteExcerpt(out->host),
                                      " in brackets is not an IPv6 address"));
  }
  return absl::OkStatus();
}

// "host[:port]" (or a bracketed IPv6 host) of |url| into |out|; |*port_text|
// gets the port.
absl::Status ParseHost(absl::string_view authority, absl::string_view url,
                       FtpUrl* out, absl::string_view* port_text) {
  if (!authority.empty() && authority[0] == '[') {
    return ParseBracketedHost(authority, url, out, port_text);
  }
  const size_t colon = authority.find(':');
  if (colon != absl::string_view::npos &&
      authority.find(':', colon + 1) != absl::string_view::npos) {
    return UrlError(url, "an IPv6 address must be enclosed in '[' and ']'");
  }
  out->host = std::string(authority.substr(0, colon));
  if (colon != absl::string_view::npos)
    *port_text = authority.substr(colon + 1);
  if (out->host.empty()) return UrlError(url, "empty host");
  if (!IsHostName(out->host)) {
    return UrlError(
        url, absl::StrCat("host ", QuoteExcerpt(out->host),
                          " may hold only ASCII letters, digits, '-', '.' "
                          "and '_'"));
  }
  return absl::OkStatus();
}

// The port |port_text| of |url| into |out| (nothing for an empty one).
absl::Status ParsePort(absl::string_view port_text, absl::string_view url,
                       FtpUrl* out) {
  if (port_text.empty()) return absl::OkStatus();
  uint32_t port = 0;
  for (char c : port_text) {
    if (!IsDigit(c)) {
      // Not quoted on its own: a password with an unencoded '/' would
      // show here ("ftp://user:pass/word@host").
      return UrlError(url, "the port is not a decimal number");
    }
    port = std::min<uint32_t>(port * 10 + (c - '0'), 100000);
  }
  if (port == 0 || port > 65535) {
    return UrlError(url, absl::StrCat("port ", QuoteExcerpt(port_text),
                                      " is not in 1..65535"));
  }
  out->port = static_cast<uint16_t>(port);
  return absl::OkStatus();
}

}  // namespace

bool SameServer(const FtpUrl& a, const FtpUrl& b) {
  return a.implicit_tls == b.implicit_tls && a.host == b.host &&
         a.port == b.port && a.user == b.user;
}

absl::StatusOr<std::string> RenameTarget(const FtpUrl& from,
                                         absl::string_view target) {
  if (absl::StrContains(target, "://")) {
    absl::StatusOr<FtpUrl> to = ParseFtpUrl(target);
    if (!to.ok()) return to.status();
    if (to->password) CleanseString(&*to->password);  // Never used.
    if (!SameServer(from, *to)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mv: ", to->ToString(), " is not on the server of ", from.ToString(),
          " (same scheme, host, port and user needed; or "
          "give a path)"));
    }
    if (to->path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mv: ", to->ToString(), " names no file (give a path in the URL)"));
    }
    return to->path;
  }
  if (target.empty()) return absl::InvalidArgumentError("mv: empty NEWPATH");
  if (HasLineBreakOrNul(target)) {
    return absl::InvalidArgumentError(
        "mv: NEWPATH contains NUL, CR or LF, which would inject FTP commands");
  }
  if (target[0] == '/') return std::string(target);
  const size_t slash = from.path.rfind('/');
  if (slash == std::string::npos) return std::string(target);
  return absl::StrCat(from.path.substr(0, slash + 1), target);
}

std::string FtpUrl::ToString() const {
  std::string out = implicit_tls ? "ftps://" : "ftp://";
  if (!user.empty() || password.has_value()) {
    out += PercentEncode(user, /*keep_slash=*/false);
    if (password.has_value()) out += ":***";
    out += "@";
  }
  if (host.find(':') != std::string::npos) {
    absl::StrAppend(&out, "[", host, "]");
  } else {
    out += host;
  }
  if (port != (implicit_tls ? kImplicitFtpsPort : kFtpPort)) {
    absl::StrAppend(&out, ":", port);
  }
  if (!path.empty()) {
    absl::StrAppend(&out, "/", PercentEncode(path, /*keep_slash=*/true));
  }
  return out;
}

absl::StatusOr<FtpUrl> ParseFtpUrl(absl::string_view url) {
  FtpUrl out;
  absl::StatusOr<absl::string_view> rest = ParseScheme(url, &out);
  if (!rest.ok()) return rest.status();
  const size_t authority_end =
      std::min(rest->find_first_of("/?#"), rest->size());
  absl::string_view authority = rest->substr(0, authority_end);
  const absl::string_view tail = rest->substr(authority_end);
  if (tail.find_first_of("?#") != absl::string_view::npos) {
    // Not quoted on its own: a password with an unencoded '/' would show.
    return UrlError(
        url,
        "has a query or fragment ('?' or '#'), which FTP URLs do not take "
        "(encode '?' as %3F and '#' as %23)");
  }
  if (const size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    if (absl::Status s = ParseUserInfo(authority.substr(0, at), url, &out);
        !s.ok()) {
      return s;
    }
    authority = authority.substr(at + 1);
  }
  absl::string_view port_text;
  if (absl::Status s = ParseHost(authority, url, &out, &port_text); !s.ok()) {
    return s;
  }
  if (absl::Status s = ParsePort(port_text, url, &out); !s.ok()) return s;
  if (!tail.empty()) {
    absl::StatusOr<std::string> path =
        PercentDecode(tail.substr(1), "path", url, /*secret=*/false);
    if (!path.ok()) return path.status();
    out.path = *std::move(path);
  }
  return out;
}

}  // namespace tlsession::ftp
