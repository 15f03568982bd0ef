// Finding a Redis primary through Sentinel (redis-server --sentinel): ask
// each Sentinel in turn for the address of a named master, and check that a
// node really is a primary (ROLE) before writing to it. RedisClient calls
// these when it has no primary yet, and again after a connection to the
// primary fails or a node answers as a replica (a failover).
#ifndef TLSESSION_FLEET_REDIS_SENTINEL_H_
#define TLSESSION_FLEET_REDIS_SENTINEL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fleet/redis_link.h"
#include "fleet/redis_reply.h"
#include "fleet/redis_url.h"

namespace tlsession::fleet {

// Asks |sentinels| in order for the primary of |master_name| (SENTINEL
// get-master-addr-by-name), each on a fresh link bounded by an equal share
// of what is left before |deadline| (a hung Sentinel cannot take the time
// of those after it). Returns the first answer. Errors: NotFound when a
// Sentinel does not know the master, otherwise the last Sentinel's error
// (DeadlineExceeded once the deadline passed), each naming the Sentinel.
absl::StatusOr<RedisNode> AskSentinels(
    const std::vector<RedisLink::Options>& sentinels,
    const std::string& master_name, absl::Time deadline);

// OK when |role| (the reply to ROLE) says "master"; FailedPrecondition
// naming |address| and the role it reported otherwise.
absl::Status CheckIsPrimary(const RedisReply& role, absl::string_view address);

// True for an error reply that says the node is a replica now ("READONLY
// You can't write against a read only replica.").
bool IsReadOnlyReply(const RedisReply& reply);

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_REDIS_SENTINEL_H_
