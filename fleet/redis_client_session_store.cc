#include "fleet/redis_client_session_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/secret.h"

namespace tlsession::fleet {
namespace {

// A peer-set member: the key digest in hex.
std::string Member(absl::string_view key) {
  return absl::BytesToHexString(key);
}

}  // namespace

RedisClientSessionStore::RedisClientSessionStore(
    std::shared_ptr<RedisClient> redis, std::shared_ptr<const FleetKey> key)
    : RedisClientSessionStore(std::move(redis), std::move(key), Config()) {}

RedisClientSessionStore::RedisClientSessionStore(
    std::shared_ptr<RedisClient> redis, std::shared_ptr<const FleetKey> key,
    Config config)
    : redis_(std::move(redis)),
      key_(std::move(key)),
      config_(std::move(config)),
      parsing_ctx_(SSL_CTX_new(TLS_method())) {}

std::string RedisClientSessionStore::TicketListName(
    absl::string_view key) const {
  return key_->KeyName("c", key, ":t");
}

std::string RedisClientSessionStore::SessionName(absl::string_view key) const {
  return key_->KeyName("c", key, ":s");
}

std::string RedisClientSessionStore::PeerName(absl::string_view peer) const {
  return key_->KeyName("p", peer);
}

void RedisClientSessionStore::Count(uint64_t Metrics::*counter, uint64_t n) {
  MutexLock lock(&mu_);
  metrics_.*counter += n;
}

void RedisClientSessionStore::CountFailure(const absl::Status& status) {
  switch (RedisOutcomeOf(status)) {
    case RedisOutcome::kOk:
      return;
    case RedisOutcome::kSkipped:
      return Count(&Metrics::skipped);
    case RedisOutcome::kTimeout:
      return Count(&Metrics::timeouts);
    case RedisOutcome::kError:
      return Count(&Metrics::errors);
  }
}

void RedisClientSessionStore::Put(const StoreKey& key, const Session& session) {
  if (session.empty()) return;
  const int64_t ms =
      absl::ToInt64Milliseconds(session.usable_until() - config_.clock());
  absl::StatusOr<std::string> bytes = session.ToBytes();
  if (ms <= 0 || !bytes.ok()) return;
  const std::string ttl = absl::StrCat(ms);
  const std::string list = TicketListName(key.key);
  const std::string single = SessionName(key.key);
  const std::string peer = PeerName(key.peer);
  const bool single_use = session.is_single_use();
  const std::string sealed = key_->Seal(single_use ? list : single, *bytes);
  Secret::Wipe(*bytes);
  std::vector<std::vector<std::string>> commands;
  if (single_use) {
    commands = {
        {"LPUSH", list, sealed},
        {"LTRIM", list, "0",
         absl::StrCat(std::max<size_t>(config_.max_sessions_per_key, 1) - 1)},
        {"PEXPIRE", list, ttl},
        {"DEL", single}};
  } else {
    commands = {{"SET", single, sealed, "PX", ttl}, {"DEL", list}};
  }
  commands.push_back({"SADD", peer, Member(key.key)});
  commands.push_back({"PEXPIRE", peer, ttl});
  absl::StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(commands);
  if (!replies.ok()) return CountFailure(replies.status());
  for (const RedisReply& r : *replies) {
    if (r.type == RedisReply::Type::kError) return Count(&Metrics::errors);
  }
  MutexLock lock(&mu_);
  ++metrics_.puts;
  if (single_use) {
    const long long length = (*replies)[0].integer;
    const long long max = static_cast<long long>(config_.max_sessions_per_key);
    if (length > max) metrics_.evictions += static_cast<uint64_t>(length - max);
  }
  if (peers_.size() < config_.max_tracked_peers) {
    peers_.insert(std::string(key.peer));
  }
}

Session RedisClientSessionStore::OpenSession(const std::string& name,
                                             const std::string& sealed) {
  absl::StatusOr<Secret> bytes = key_->Open(name, sealed);
  if (!bytes.ok()) {
    Count(&Metrics::rejected);
    return Session();
  }
  absl::StatusOr<Session> session =
      Session::ParseUnchecked(bytes->view(), parsing_ctx_.get());
  if (!session.ok()) {
    Count(&Metrics::rejected);
    return Session();
  }
  return *std::move(session);
}

Session RedisClientSessionStore::PopTicket(const std::string& list) {
  // A list holds at most max_sessions_per_key tickets: that many refused
  // values at most before it is empty.
  for (size_t i = 0; i <= config_.max_sessions_per_key; ++i) {
    absl::StatusOr<RedisReply> popped = redis_->Command({"LPOP", list});
    if (!popped.ok()) {
      CountFailure(popped.status());
      return Session();
    }
    if (!popped->is_string()) return Session();
    Session s = OpenSession(list, popped->str);
    if (!s.empty() && s.is_single_use()) return s;
  }
  return Session();
}

Session RedisClientSessionStore::Take(absl::string_view key) {
  Count(&Metrics::takes);
  const std::string list = TicketListName(key);
  const std::string single = SessionName(key);
  // One round trip: the newest ticket (popped) and the reusable session.
  absl::StatusOr<std::vector<RedisReply>> replies =
      redis_->Pipeline({{"LPOP", list}, {"GET", single}});
  if (!replies.ok()) {
    CountFailure(replies.status());
    return Session();
  }
  const RedisReply& ticket = (*replies)[0];
  const RedisReply& reusable = (*replies)[1];
  if (ticket.is_string()) {
    Session s = OpenSession(list, ticket.str);
    if (s.empty() || !s.is_single_use()) s = PopTicket(list);
    if (!s.empty()) {
      Count(&Metrics::ticket_hits);
      return s;
    }
  }
  if (reusable.is_string()) {
    Session s = OpenSession(single, reusable.str);
    if (!s.empty() && !s.is_single_use()) {
      Count(&Metrics::session_hits);
      return s;
    }
  }
  if (ticket.type == RedisReply::Type::kError ||
      reusable.type == RedisReply::Type::kError) {
    Count(&Metrics::errors);
  }
  Count(&Metrics::misses);
  return Session();
}

void RedisClientSessionStore::Remove(absl::string_view key,
                                     const Session& session) {
  if (session.empty() || session.is_single_use()) return;  // See header.
  const std::string single = SessionName(key);
  absl::StatusOr<RedisReply> held =
      redis_->Command({"GET", single}, Idempotent::kYes);
  if (!held.ok()) return CountFailure(held.status());
  if (!held->is_string() || OpenSession(single, held->str) != session) return;
  absl::StatusOr<RedisReply> del =
      redis_->Command({"DEL", single}, Idempotent::kYes);
  if (!del.ok()) CountFailure(del.status());
}

void RedisClientSessionStore::RemovePeer(absl::string_view peer) {
  const std::string name = PeerName(peer);
  absl::StatusOr<RedisReply> members =
      redis_->Command({"SMEMBERS", name}, Idempotent::kYes);
  if (!members.ok()) return CountFailure(members.status());
  std::vector<std::vector<std::string>> commands;
  for (const RedisReply& m : members->elements) {
    // Our own hex; anything else names a key nobody uses (harmless).
    const std::string key = absl::HexStringToBytes(m.str);
    commands.push_back({"DEL", TicketListName(key)});
    commands.push_back({"DEL", SessionName(key)});
  }
  commands.push_back({"DEL", name});
  absl::StatusOr<std::vector<RedisReply>> done =
      redis_->Pipeline(commands, Idempotent::kYes);  // DELs.
  if (!done.ok()) CountFailure(done.status());
}

void RedisClientSessionStore::Clear() {
  std::set<std::string> peers;
  {
    MutexLock lock(&mu_);
    peers.swap(peers_);
  }
  for (const std::string& peer : peers) RemovePeer(peer);
}

uint64_t RedisClientSessionStore::evictions() const {
  MutexLock lock(&mu_);
  return metrics_.evictions;
}

RedisClientSessionStore::Metrics RedisClientSessionStore::metrics() const {
  MutexLock lock(&mu_);
  return metrics_;
}

}  // namespace tlsession::fleet
