#include "ftp_adapter/error_category.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tlsession::ftp {
namespace {

constexpr char kCategoryPayload[] = "type.tlsession/ftp.error_category";

}  // namespace

absl::Status WithCategory(absl::Status status, ErrorCategory category) {
  if (status.ok()) return status;
  status.SetPayload(kCategoryPayload,
                    absl::Cord(absl::StrCat(static_cast<int>(category))));
  return status;
}

std::optional<ErrorCategory> CategoryOf(const absl::Status& status) {
  auto payload = status.GetPayload(kCategoryPayload);
  int value = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &value) ||
      value < static_cast<int>(ErrorCategory::kUsage) ||
      value > static_cast<int>(ErrorCategory::kReuseRequired)) {
    return std::nullopt;
  }
  return static_cast<ErrorCategory>(value);
}

absl::Status WithMessage(const absl::Status& status,
                         absl::string_view message) {
  absl::Status out(status.code(), message);
  status.ForEachPayload([&](absl::string_view type, const absl::Cord& payload) {
    out.SetPayload(type, payload);
  });
  return out;
}

}  // namespace tlsession::ftp
