#include "fleet/redis_sentinel.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tlsession::fleet {
namespace {

// One Sentinel's answer for |master_name|, by |deadline|.
absl::StatusOr<RedisNode> AskOne(const RedisLink::Options& sentinel,
                                 const std::string& master_name,
                                 absl::Time deadline) {
  absl::StatusOr<std::unique_ptr<RedisLink>> link =
      RedisLink::Open(sentinel, deadline);
  if (!link.ok()) return link.status();
  size_t received = 0;
  absl::StatusOr<std::vector<RedisReply>> replies =
      (*link)->RoundTrip({{"SENTINEL", "get-master-addr-by-name", master_name}},
                         deadline, &received);
  if (!replies.ok()) return replies.status();
  const RedisReply& r = replies->front();
  const std::string where = absl::StrCat("sentinel ", (*link)->address());
  if (r.is_nil()) {
    return absl::NotFoundError(
        absl::StrCat(where, ": knows no master named '", master_name, "'"));
  }
  int port = 0;
  if (r.type != RedisReply::Type::kArray || r.elements.size() != 2 ||
      !r.elements[0].is_string() || r.elements[0].str.empty() ||
      !absl::SimpleAtoi(r.elements[1].str, &port) || port < 1 || port > 65535) {
    return absl::DataLossError(absl::StrCat(
        where, ": unexpected reply to SENTINEL get-master-addr-by-name",
        r.type == RedisReply::Type::kError ? absl::StrCat(": ", r.str) : ""));
  }
  return RedisNode{r.elements[0].str, static_cast<uint16_t>(port)};
}

}  // namespace

absl::StatusOr<RedisNode> AskSentinels(
    const std::vector<RedisLink::Options>& sentinels,
    const std::string& master_name, absl::Time deadline) {
  absl::Status last =
      absl::InvalidArgumentError("no Sentinel to ask for the primary");
  for (size_t i = 0; i < sentinels.size(); ++i) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("timed out asking the Sentinels for '", master_name,
                       "' (last: ", last.message(), ")"));
    }
    const absl::Time share =
        absl::Now() + left / static_cast<int64_t>(sentinels.size() - i);
    absl::StatusOr<RedisNode> node =
        AskOne(sentinels[i], master_name, std::min(deadline, share));
    if (node.ok()) return node;
    last = node.status();
  }
  return last;
}

absl::Status CheckIsPrimary(const RedisReply& role, absl::string_view address) {
  if (role.type == RedisReply::Type::kArray && !role.elements.empty() &&
      role.elements[0].str == "master") {
    return absl::OkStatus();
  }
  const std::string said =
      role.type == RedisReply::Type::kArray && !role.elements.empty()
          ? role.elements[0].str
          : role.str;
  return absl::FailedPreconditionError(absl::StrCat(
      "redis ", address, ": not a primary (ROLE says '", said, "')"));
}

bool IsReadOnlyReply(const RedisReply& reply) {
  return reply.type == RedisReply::Type::kError &&
         absl::StartsWith(reply.str, "READONLY");
}

}  // namespace tlsession::fleet
