// Secret: bytes that must not outlive their use (keys, passwords). Wiped
// (CleanseString, base/cleanse.h) when destroyed, replaced or moved from;
// never copied by accident (copies are explicit, through Copy()).
#ifndef TLSESSION_BASE_SECRET_H_
#define TLSESSION_BASE_SECRET_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "base/cleanse.h"

namespace tlsession {

class Secret {
 public:
  Secret() = default;
  // Takes |bytes| over; the caller's string is left empty.
  explicit Secret(std::string&& bytes) : bytes_(std::move(bytes)) {
    Wipe(bytes);
  }
  Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)) {
    other.Clear();
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      Clear();
      bytes_ = std::move(other.bytes_);
      other.Clear();
    }
    return *this;
  }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { Clear(); }

  // A second Secret holding the same bytes.
  Secret Copy() const { return Secret(std::string(bytes_)); }

  // Wipes the bytes and empties this Secret.
  void Clear() { Wipe(bytes_); }

  absl::string_view view() const { return bytes_; }
  const uint8_t* data() const {
    return reinterpret_cast<const uint8_t*>(bytes_.data());
  }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

  // Wipes |s|'s bytes (its whole capacity) and empties it: CleanseString
  // (base/cleanse.h), the one wipe.
  static void Wipe(std::string& s) { CleanseString(&s); }

 private:
  std::string bytes_;
};

}  // namespace tlsession

#endif  // TLSESSION_BASE_SECRET_H_
