#include "ftp_adapter/netrc.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/cleanse.h"

namespace tlsession::ftp {
namespace {

// One token of a .netrc file. Any token may be a password (a misplaced
// one too): its text grows only through AppendWiping and is wiped when the
// token is destroyed, moved-from tokens included.
struct Token {
  Token() = default;
  Token(Token&&) = default;
  Token& operator=(Token&&) = default;
  ~Token() { CleanseString(&text); }

  std::string text;
  // The line (from 1) where the token starts.
  size_t line = 0;
  bool quoted = false;
};

// Splits .netrc contents into tokens. Errors name the line and quote nothing.
class Lexer {
 public:
  explicit Lexer(absl::string_view contents) : s_(contents) {}

  // The next token, or nullopt at the end of the contents.
  absl::StatusOr<std::optional<Token>> Next() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) Advance();
    if (pos_ >= s_.size()) return std::optional<Token>();
    Token token;
    token.line = line_;
    if (s_[pos_] == '"') {
      token.quoted = true;
      Advance();
      while (true) {
        if (pos_ >= s_.size()) {
          return Error(token.line, "has a '\"' that is never closed");
        }
        const char c = s_[pos_];
        if (c == '"') {
          Advance();
          break;
        }
        if (c == '\\') {
          Advance();
          if (pos_ >= s_.size()) {
            return Error(line_, "ends in a backslash with nothing to escape");
          }
        }
        AppendWiping(&token.text, &s_[pos_], 1);
        Advance();
      }
      return std::optional<Token>(std::move(token));
    }
    while (pos_ < s_.size() && !IsSpace(s_[pos_])) {
      if (s_[pos_] == '\\') {
        Advance();
        if (pos_ >= s_.size()) {
          return Error(line_, "ends in a backslash with nothing to escape");
        }
      }
      AppendWiping(&token.text, &s_[pos_], 1);
      Advance();
    }
    return std::optional<Token>(std::move(token));
  }

  // Skips the rest of the current line, including its '\n'.
  void SkipLine() {
    while (pos_ < s_.size() && s_[pos_] != '\n') Advance();
    if (pos_ < s_.size()) Advance();
  }

  // Skips a macdef body: the rest of the current line, then every line up to
  // and including the next empty one (or "\r"), or to the end.
  void SkipMacroBody() {
    SkipLine();
    while (pos_ < s_.size()) {
      const size_t start = pos_;
      SkipLine();
      absl::string_view line = s_.substr(start, pos_ - start);
      if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
      if (line.empty() || line == "\r") return;
    }
  }

  // An InvalidArgument error about |line|.
  static absl::Status Error(size_t line, absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed .netrc: line ", line, " ", why));
  }

 private:
  static bool IsSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
  }
  void Advance() {
    if (s_[pos_] == '\n') ++line_;
    ++pos_;
  }

  absl::string_view s_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

// One "machine" or "default" entry; its strings are wiped when it is
// destroyed (a vector of entries that grows destroys the moved-from ones).
struct Entry {
  Entry() = default;
  Entry(Entry&&) = default;
  Entry& operator=(Entry&&) = default;
  ~Entry() {
    CleanseString(&machine);
    CleanseString(&login);
    CleanseString(&password);
  }

  bool is_default = false;
  std::string machine;
  std::string login;
  std::string password;
};

bool HasLineBreakOrNul(absl::string_view text) {
  return text.find_first_of(absl::string_view("\0\r\n", 3)) !=
         absl::string_view::npos;
}

// Takes the keyword |keyword| (not a comment) and its value from |lexer|
// into |entries|.
absl::Status AddKeyword(const Token& keyword, Lexer& lexer,
                        std::vector<Entry>* entries) {
  // Compared in place: a copy of a misplaced password would need a wipe.
  absl::string_view word;
  for (absl::string_view known :
       {"default", "machine", "login", "password", "account", "macdef"}) {
    if (absl::EqualsIgnoreCase(keyword.text, known)) word = known;
  }
  if (word == "default") {
    entries->emplace_back().is_default = true;
    return absl::OkStatus();
  }
  if (word.empty()) {
    return Lexer::Error(
        keyword.line,
        "has an unexpected token where machine, default, login, password, "
        "account or macdef belongs (a value with spaces must be quoted)");
  }
  absl::StatusOr<std::optional<Token>> value = lexer.Next();
  if (!value.ok()) return value.status();
  if (!value->has_value()) {
    return Lexer::Error(keyword.line,
                        absl::StrCat("has '", word,
                                     "' at the end of the file, without "
                                     "its value"));
  }
  Token token = std::move(**value);
  std::string& text = token.text;
  if (word == "machine") {
    entries->emplace_back().machine = std::move(text);
    return absl::OkStatus();
  }
  if (word == "macdef") {
    lexer.SkipMacroBody();
    return absl::OkStatus();
  }
  if (entries->empty()) {
    return Lexer::Error(keyword.line,
                        absl::StrCat("has '", word,
                                     "' before any machine or default "
                                     "entry"));
  }
  if (word != "account" && HasLineBreakOrNul(text)) {
    return Lexer::Error(
        keyword.line,
        absl::StrCat("has a ", word, " containing NUL, CR or LF"));
  }
  std::string* field = word == "login"      ? &entries->back().login
                       : word == "password" ? &entries->back().password
                                            : nullptr;
  if (field != nullptr) {
    CleanseString(field);  // A repeated keyword: the old value goes.
    *field = std::move(text);
  }
  return absl::OkStatus();
}

// Every entry of .netrc |contents|, in order.
absl::StatusOr<std::vector<Entry>> ParseEntries(absl::string_view contents) {
  Lexer lexer(contents);
  std::vector<Entry> entries;
  while (true) {
    absl::StatusOr<std::optional<Token>> next = lexer.Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) return entries;
    const Token keyword = std::move(**next);
    if (!keyword.quoted && absl::StartsWith(keyword.text, "#")) {
      lexer.SkipLine();
      continue;
    }
    if (absl::Status s = AddKeyword(keyword, lexer, &entries); !s.ok()) {
      return s;
    }
  }
}

}  // namespace

absl::StatusOr<std::optional<NetrcEntry>> LookupNetrc(
    absl::string_view contents, absl::string_view host,
    absl::string_view login) {
  absl::StatusOr<std::vector<Entry>> entries = ParseEntries(contents);
  if (!entries.ok()) return entries.status();
  auto login_fits = [&](const Entry& entry) {
    return login.empty() || entry.login.empty() || entry.login == login;
  };
  for (bool want_default : {false, true}) {
    for (const Entry& entry : *entries) {
      if (entry.is_default != want_default || !login_fits(entry)) continue;
      if (!want_default && !absl::EqualsIgnoreCase(entry.machine, host)) {
        continue;
      }
      return std::optional<NetrcEntry>(NetrcEntry{entry.login, entry.password});
    }
  }
  return std::optional<NetrcEntry>();
}

}  // namespace tlsession::ftp
