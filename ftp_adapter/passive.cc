#include "ftp_adapter/passive.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ftp_adapter/printable.h"

namespace tlsession::ftp {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads the digits of |text| from |*pos| on, advancing |*pos| past them. The
// value saturates at |cap| so that any number of digits is safe.
uint32_t ReadNumber(absl::string_view text, size_t* pos, uint32_t cap) {
  uint32_t value = 0;
  while (*pos < text.size() && IsDigit(text[*pos])) {
    value = std::min<uint32_t>(value * 10 + (text[*pos] - '0'), cap);
    ++*pos;
  }
  return value;
}

// An IP address from an Endpoint, IPv4-mapped IPv6 addresses as IPv4.
struct IpAddress {
  bool is_v4 = false;
  in_addr v4{};
  in6_addr v6{};
};

// Parses |address| as an IPv4 or IPv6 literal.
absl::StatusOr<IpAddress> ParseIpLiteral(const std::string& address) {
  IpAddress ip;
  // inet_pton reads a C string: an embedded NUL would hide what follows it.
  if (address.find('\0') == std::string::npos) {
    if (inet_pton(AF_INET, address.c_str(), &ip.v4) == 1) {
      ip.is_v4 = true;
      return ip;
    }
    if (inet_pton(AF_INET6, address.c_str(), &ip.v6) == 1) {
      if (IN6_IS_ADDR_V4MAPPED(&ip.v6)) {
        ip.is_v4 = true;
        std::memcpy(&ip.v4, &ip.v6.s6_addr[12], 4);
      }
      return ip;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("local address ", QuoteExcerpt(address),
                   " is not an IPv4 or IPv6 literal"));
}

}  // namespace

absl::StatusOr<Endpoint> ParsePasvReply(absl::string_view text) {
  absl::string_view rest = text;
  if (size_t open = text.find('('); open != absl::string_view::npos) {
    rest = text.substr(open + 1);
  }
  size_t i = 0;
  while (i < rest.size()) {
    if (!IsDigit(rest[i])) {
      ++i;
      continue;
    }
    // A maximal list "n,n,...": keep the first six numbers, count them all.
    uint32_t numbers[6] = {};
    size_t count = 0;
    const size_t start = i;
    while (true) {
      const uint32_t n = ReadNumber(rest, &i, 1000);
      if (count < 6) numbers[count] = n;
      ++count;
      if (i + 1 < rest.size() && rest[i] == ',' && IsDigit(rest[i + 1])) {
        ++i;
        continue;
      }
      break;
    }
    if (count == 1) continue;  // A lone number, not the address.
    if (start > 0 && rest[start - 1] == '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("PASV reply ", QuoteExcerpt(text),
                       " has a negative number in h1,h2,h3,h4,p1,p2"));
    }
    if (count != 6) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PASV reply ", QuoteExcerpt(text), " has ", count,
          " comma-separated numbers where h1,h2,h3,h4,p1,p2 (six) belong: ",
          QuoteExcerpt(rest.substr(start, i - start))));
    }
    for (size_t k = 0; k < 6; ++k) {
      if (numbers[k] > 255) {
        return absl::InvalidArgumentError(
            absl::StrCat("PASV reply ", QuoteExcerpt(text), ": number ", k + 1,
                         " of h1,h2,h3,h4,p1,p2 is not in 0..255"));
      }
    }
    Endpoint endpoint;
    endpoint.address = absl::StrCat(numbers[0], ".", numbers[1], ".",
                                    numbers[2], ".", numbers[3]);
    endpoint.port = static_cast<uint16_t>(numbers[4] * 256 + numbers[5]);
    if (endpoint.port == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("PASV reply ", QuoteExcerpt(text), " names port 0"));
    }
    return endpoint;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "PASV reply ", QuoteExcerpt(text), " has no address h1,h2,h3,h4,p1,p2"));
}

absl::StatusOr<uint16_t> ParseEpsvReply(absl::string_view text) {
  const size_t open = text.find('(');
  if (open == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EPSV reply ", QuoteExcerpt(text), " has no '(' before (|||port|)"));
  }
  const absl::string_view rest = text.substr(open + 1);
  if (rest.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EPSV reply ", QuoteExcerpt(text), " ends after '('"));
  }
  const char d = rest[0];
  if (d < 0x21 || d > 0x7E || IsDigit(d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("EPSV reply ", QuoteExcerpt(text), " has delimiter ",
                     QuoteExcerpt(rest.substr(0, 1)),
                     " after '(': it must be printable ASCII and not a digit"));
  }
  const std::string format =
      absl::StrCat("(", std::string(3, d), "port", std::string(1, d), ")");
  if (rest.size() < 3 || rest[1] != d || rest[2] != d) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EPSV reply ", QuoteExcerpt(text), " does not read ",
        QuoteExcerpt(format), " (the address fields must be empty)"));
  }
  size_t i = 3;
  const uint32_t port = ReadNumber(rest, &i, 100000);
  const absl::string_view digits = rest.substr(3, i - 3);
  if (digits.empty() || i + 1 >= rest.size() || rest[i] != d ||
      rest[i + 1] != ')') {
    return absl::InvalidArgumentError(
        absl::StrCat("EPSV reply ", QuoteExcerpt(text), " does not read ",
                     QuoteExcerpt(format)));
  }
  if (port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("EPSV reply ", QuoteExcerpt(text), ": port ",
                     QuoteExcerpt(digits), " is not in 1..65535"));
  }
  return static_cast<uint16_t>(port);
}

absl::StatusOr<std::string> FormatPortArgument(const Endpoint& local) {
  absl::StatusOr<IpAddress> ip = ParseIpLiteral(local.address);
  if (!ip.ok()) return ip.status();
  if (!ip->is_v4) {
    return absl::InvalidArgumentError(
        absl::StrCat("PORT takes only IPv4 addresses, not ",
                     QuoteExcerpt(local.address), "; use EPRT"));
  }
  if (local.port == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("PORT for ", QuoteExcerpt(local.address), " with port 0"));
  }
  const auto* b = reinterpret_cast<const unsigned char*>(&ip->v4.s_addr);
  return absl::StrCat(b[0], ",", b[1], ",", b[2], ",", b[3], ",",
                      local.port / 256, ",", local.port % 256);
}

absl::StatusOr<std::string> FormatEprtArgument(const Endpoint& local) {
  absl::StatusOr<IpAddress> ip = ParseIpLiteral(local.address);
  if (!ip.ok()) return ip.status();
  if (local.port == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("EPRT for ", QuoteExcerpt(local.address), " with port 0"));
  }
  char buf[INET6_ADDRSTRLEN] = {};
  const void* src = ip->is_v4 ? static_cast<const void*>(&ip->v4)
                              : static_cast<const void*>(&ip->v6);
  if (inet_ntop(ip->is_v4 ? AF_INET : AF_INET6, src, buf, sizeof(buf)) ==
      nullptr) {
    return absl::InternalError(absl::StrCat("cannot format local address ",
                                            QuoteExcerpt(local.address),
                                            " for EPRT"));
  }
  return absl::StrCat("|", ip->is_v4 ? "1" : "2", "|", buf, "|", local.port,
                      "|");
}

}  // namespace tlsession::ftp
