#include "fleet/redis_client_session_store.h"

#include <openssl/sha.h>

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

// KEYS[1] the index, KEYS[2] the reusable session; ARGV: the entry, the
// sealed ticket, its PX, the index's bound. Refuses (-1) a spent ticket;
// otherwise stores it, pushes its entry, pops entries past the bound
// (deleting their tickets), and returns how many it popped.
constexpr char kPutScript[] = R"lua(
local t = KEYS[1] .. ':' .. ARGV[1]
if redis.call('EXISTS', KEYS[1] .. ':x:' .. ARGV[1]) == 1 then return -1 end
redis.call('SET', t, ARGV[2], 'PX', ARGV[3])
local n = redis.call('LPUSH', KEYS[1], ARGV[1])
local trimmed = 0
while n > tonumber(ARGV[4]) do
  local old = redis.call('RPOP', KEYS[1])
  if old ~= ARGV[1] then redis.call('DEL', KEYS[1] .. ':' .. old) end
  n = n - 1
  trimmed = trimmed + 1
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
redis.call('DEL', KEYS[2])
return trimmed
)lua";

// KEYS[1] the index; ARGV: now in Unix ms, the most entries to pop. Pops
// entries until one names a present ticket that is not spent and still
// usable: takes it (GET, DEL) and sets its spent marker, PX its remaining
// usable time (from the entry), in this one atomic step. A present but
// spent ticket is deleted and counted. Returns {entry, value, spent count}
// ('' and '' when none).
constexpr char kTakeScript[] = R"lua(
local spent = 0
for i = 1, tonumber(ARGV[2]) do
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  local t = KEYS[1] .. ':' .. id
  local v = redis.call('GET', t)
  if v then
    redis.call('DEL', t)
    local x = KEYS[1] .. ':x:' .. id
    if redis.call('EXISTS', x) == 1 then
      spent = spent + 1
    else
      local left = (tonumber(string.match(id, '%.(%d+)$')) or 0) -
                   tonumber(ARGV[1])
      if left > 0 then
        redis.call('SET', x, '1', 'PX', left)
        return {id, v, spent}
      end
    end
  end
end
return {'', '', spent}
)lua";

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

std::string RedisClientSessionStore::TicketName(absl::string_view key,
                                                absl::string_view entry) const {
  return absl::StrCat(TicketListName(key), ":", entry);
}

std::string RedisClientSessionStore::SpentName(absl::string_view key,
                                               absl::string_view entry) const {
  return absl::StrCat(TicketListName(key), ":x:", entry);
}

std::string RedisClientSessionStore::TicketEntry(const Session& session) {
  if (session.empty()) return "";
  const uint8_t* ticket = nullptr;
  size_t ticket_len = 0;
  SSL_SESSION_get0_ticket(session.get(), &ticket, &ticket_len);
  uint8_t digest[SHA256_DIGEST_LENGTH];
  if (ticket_len > 0) {
    SHA256(ticket, ticket_len, digest);
  } else {
    absl::StatusOr<std::string> bytes = session.ToBytes();
    if (!bytes.ok()) return "";
    SHA256(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(),
           digest);
    Secret::Wipe(*bytes);
  }
  return absl::StrCat(absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(digest), 16)),
                      ".", absl::ToUnixMillis(session.usable_until()));
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

absl::StatusOr<std::vector<RedisReply>> RedisClientSessionStore::PutTicket(
    const StoreKey& key, const Session& session, const std::string& bytes,
    const std::string& ms) {
  const std::string entry = TicketEntry(session);
  if (entry.empty()) return absl::InvalidArgumentError("no ticket entry");
  const std::string sealed = key_->Seal(TicketName(key.key, entry), bytes);
  const std::string bound =
      absl::StrCat(std::max<size_t>(config_.max_sessions_per_key, 1));
  // Not idempotent (it pushes): a lost reply is not retried.
  return redis_->Pipeline({{"EVAL", kPutScript, "2", TicketListName(key.key),
                            SessionName(key.key), entry, sealed, ms, bound},
                           {"SADD", PeerName(key.peer), Member(key.key)},
                           {"PEXPIRE", PeerName(key.peer), ms}});
}

void RedisClientSessionStore::Put(const StoreKey& key, const Session& session) {
  if (session.empty()) return;
  const int64_t ms =
      absl::ToInt64Milliseconds(session.usable_until() - config_.clock());
  absl::StatusOr<std::string> bytes = session.ToBytes();
  if (ms <= 0 || !bytes.ok()) return;
  const std::string ttl = absl::StrCat(ms);
  const bool single_use = session.is_single_use();
  absl::StatusOr<std::vector<RedisReply>> replies;
  if (single_use) {
    replies = PutTicket(key, session, *bytes, ttl);
  } else {
    const std::string single = SessionName(key.key);
    const std::string peer = PeerName(key.peer);
    replies = redis_->Pipeline(
        {{"SET", single, key_->Seal(single, *bytes), "PX", ttl},
         {"DEL", TicketListName(key.key)},
         {"SADD", peer, Member(key.key)},
         {"PEXPIRE", peer, ttl}});
  }
  Secret::Wipe(*bytes);
  if (!replies.ok()) return CountFailure(replies.status());
  for (const RedisReply& r : *replies) {
    if (r.type == RedisReply::Type::kError) return Count(&Metrics::errors);
  }
  MutexLock lock(&mu_);
  if (single_use && (*replies)[0].integer < 0) {
    ++metrics_.spent;  // Taken before: never stored again.
    return;
  }
  ++metrics_.puts;
  if (single_use) {
    metrics_.evictions += static_cast<uint64_t>((*replies)[0].integer);
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

Session RedisClientSessionStore::OpenTaken(const std::string& list,
                                           const RedisReply& taken) {
  if (taken.type != RedisReply::Type::kArray || taken.elements.size() != 3) {
    if (taken.type == RedisReply::Type::kError) Count(&Metrics::errors);
    return Session();
  }
  const int64_t spent = taken.elements[2].integer;
  if (spent > 0) Count(&Metrics::spent, static_cast<uint64_t>(spent));
  const std::string& entry = taken.elements[0].str;
  if (entry.empty()) return Session();
  // The value must open under the name it was taken from, and be the
  // ticket that name's entry names (the entry binds its expiry).
  Session s =
      OpenSession(absl::StrCat(list, ":", entry), taken.elements[1].str);
  if (s.empty()) return s;
  if (!s.is_single_use() || TicketEntry(s) != entry) {
    Count(&Metrics::rejected);
    return Session();
  }
  return s;
}

Session RedisClientSessionStore::TakeTicket(const std::string& list) {
  // Each run pops up to a full index and a duplicate; a refused ticket is
  // gone, so a few runs empty any index.
  const std::string pops = absl::StrCat(config_.max_sessions_per_key + 1);
  for (size_t i = 0; i <= config_.max_sessions_per_key; ++i) {
    absl::StatusOr<RedisReply> taken = redis_->Command(
        {"EVAL", kTakeScript, "1", list,
         absl::StrCat(absl::ToUnixMillis(config_.clock())), pops});
    if (!taken.ok()) {
      CountFailure(taken.status());
      return Session();
    }
    const bool got_entry =
        taken->elements.size() == 3 && !taken->elements[0].str.empty();
    Session s = OpenTaken(list, *taken);  // Counts spent and refused ones.
    if (!got_entry) return s;
    if (!s.empty()) return s;
  }
  return Session();
}

Session RedisClientSessionStore::Take(absl::string_view key) {
  Count(&Metrics::takes);
  const std::string list = TicketListName(key);
  const std::string single = SessionName(key);
  // One round trip: a ticket taken (atomically, its spent marker set) and
  // the reusable session. Not idempotent: a lost reply is not retried.
  absl::StatusOr<std::vector<RedisReply>> replies =
      redis_->Pipeline({{"EVAL", kTakeScript, "1", list,
                         absl::StrCat(absl::ToUnixMillis(config_.clock())),
                         absl::StrCat(config_.max_sessions_per_key + 1)},
                        {"GET", single}});
  if (!replies.ok()) {
    CountFailure(replies.status());
    return Session();
  }
  const RedisReply& ticket = (*replies)[0];
  const RedisReply& reusable = (*replies)[1];
  const bool got_entry = ticket.type == RedisReply::Type::kArray &&
                         ticket.elements.size() == 3 &&
                         !ticket.elements[0].str.empty();
  Session s = OpenTaken(list, ticket);
  if (s.empty() && got_entry) s = TakeTicket(list);  // That one was refused.
  if (!s.empty()) {
    Count(&Metrics::ticket_hits);
    return s;
  }
  if (reusable.is_string()) {
    Session r = OpenSession(single, reusable.str);
    if (!r.empty() && !r.is_single_use()) {
      Count(&Metrics::session_hits);
      return r;
    }
  }
  if (reusable.type == RedisReply::Type::kError) Count(&Metrics::errors);
  Count(&Metrics::misses);
  return Session();
}

void RedisClientSessionStore::Remove(absl::string_view key,
                                     const Session& session) {
  if (session.empty()) return;
  if (session.is_single_use()) {  // Its index entry stays: harmless.
    const std::string entry = TicketEntry(session);
    if (entry.empty()) return;
    absl::StatusOr<RedisReply> del =
        redis_->Command({"DEL", TicketName(key, entry)}, Idempotent::kYes);
    if (!del.ok()) CountFailure(del.status());
    return;
  }
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
    DeleteIndexedTickets(key);
    commands.push_back({"DEL", TicketListName(key)});
    commands.push_back({"DEL", SessionName(key)});
  }
  commands.push_back({"DEL", name});
  absl::StatusOr<std::vector<RedisReply>> done =
      redis_->Pipeline(commands, Idempotent::kYes);  // DELs.
  if (!done.ok()) CountFailure(done.status());
}

void RedisClientSessionStore::DeleteIndexedTickets(const std::string& key) {
  absl::StatusOr<RedisReply> entries = redis_->Command(
      {"LRANGE", TicketListName(key), "0", "-1"}, Idempotent::kYes);
  if (!entries.ok()) return CountFailure(entries.status());
  if (entries->elements.empty()) return;
  std::vector<std::vector<std::string>> commands;
  for (const RedisReply& e : entries->elements) {
    commands.push_back({"DEL", TicketName(key, e.str)});
  }
  absl::StatusOr<std::vector<RedisReply>> done =
      redis_->Pipeline(commands, Idempotent::kYes);
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
