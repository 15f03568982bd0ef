#include "fleet/redis_server_session_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/lockable.h"
#include "base/secret.h"

namespace tlsession::fleet {
namespace {

// At most this many queued writes go out in one pipeline (one round trip).
constexpr size_t kMaxBatch = 64;

// The sealed plaintext: the expiry (Unix milliseconds, 8 bytes big-endian),
// then the serialized session.
std::string EncodeExpiry(absl::Time expiry) {
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(expiry));
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>((ms >> (56 - 8 * i)) & 0xff);
  }
  return out;
}

absl::Time DecodeExpiry(absl::string_view bytes) {
  uint64_t ms = 0;
  for (int i = 0; i < 8; ++i) {
    ms = (ms << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return absl::FromUnixMillis(static_cast<int64_t>(ms));
}

MemoryServerSessionStore::Config LocalConfig(
    const RedisServerSessionStore::Config& config) {
  MemoryServerSessionStore::Config local;
  local.max_entries = config.local_entries;
  local.clock = config.clock;
  return local;
}

}  // namespace

RedisServerSessionStore::RedisServerSessionStore(
    std::shared_ptr<RedisClient> redis, std::shared_ptr<const FleetKey> key)
    : RedisServerSessionStore(std::move(redis), std::move(key), Config()) {}

RedisServerSessionStore::RedisServerSessionStore(
    std::shared_ptr<RedisClient> redis, std::shared_ptr<const FleetKey> key,
    Config config)
    : redis_(std::move(redis)),
      key_(std::move(key)),
      config_(std::move(config)),
      local_(LocalConfig(config_)) {
  writer_ = std::thread([this] {
    // Connections ready before the first handshake needs one.
    (void)redis_->Warm(2);
    RunWriter();
  });
}

RedisServerSessionStore::~RedisServerSessionStore() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  wake_.notify_all();
  writer_.join();
  MutexLock lock(&mu_);
  queue_.clear();  // Sealed values: nothing secret to wipe.
}

std::string RedisServerSessionStore::KeyNameFor(
    absl::string_view session_id) const {
  return key_->KeyName("s", session_id);
}

std::string RedisServerSessionStore::ClaimNameFor(
    absl::string_view ticket_digest) const {
  return key_->KeyName("ed", ticket_digest);
}

absl::Status RedisServerSessionStore::ClaimEarlyData(
    absl::string_view ticket_digest, absl::Time expiry) {
  const int64_t ms = absl::ToInt64Milliseconds(expiry - config_.clock());
  if (ms <= 0) {
    Count(&Metrics::early_data_failures);
    return absl::InvalidArgumentError("the claim would expire at once");
  }
  // Not idempotent: sent once, never again on a fresh connection.
  absl::StatusOr<RedisReply> reply = redis_->Command(
      {"SET", ClaimNameFor(ticket_digest), "1", "NX", "PX", absl::StrCat(ms)},
      absl::ZeroDuration(), Idempotent::kNo);
  if (!reply.ok()) {
    Count(&Metrics::early_data_failures);
    return absl::UnavailableError(absl::StrCat("Redis at ", redis_->address(),
                                               ": ", reply.status().message()));
  }
  if (reply->is_nil()) {
    Count(&Metrics::early_data_replays);
    return absl::AlreadyExistsError("the ticket was already used for 0-RTT");
  }
  if (reply->type != RedisReply::Type::kStatus || reply->str != "OK") {
    Count(&Metrics::early_data_failures);
    return absl::DataLossError(absl::StrCat("Redis at ", redis_->address(),
                                            " answered SET NX with neither OK "
                                            "nor nil"));
  }
  Count(&Metrics::early_data_claims);
  return absl::OkStatus();
}

void RedisServerSessionStore::Count(uint64_t Metrics::*counter) {
  MutexLock lock(&mu_);
  ++(metrics_.*counter);
}

void RedisServerSessionStore::Put(absl::string_view session_id,
                                  std::string serialized_session,
                                  absl::Time expiry) {
  std::string name = KeyNameFor(session_id);
  if (config_.clock() >= expiry) {
    local_.Put(session_id, std::move(serialized_session), expiry);
    Enqueue(Write{std::move(name), std::nullopt, expiry});
    return;
  }
  std::string plaintext = EncodeExpiry(expiry) + serialized_session;
  std::string sealed = key_->Seal(name, plaintext);
  Secret::Wipe(plaintext);
  local_.Put(session_id, std::move(serialized_session), expiry);
  Enqueue(Write{std::move(name), std::move(sealed), expiry});
}

std::optional<std::string> RedisServerSessionStore::OpenValue(
    const std::string& name, const std::string& sealed, absl::Time* expiry) {
  absl::StatusOr<Secret> plaintext = key_->Open(name, sealed);
  if (!plaintext.ok() || plaintext->size() <= 8) return std::nullopt;
  *expiry = DecodeExpiry(plaintext->view());
  return std::string(plaintext->view().substr(8));
}

std::optional<std::string> RedisServerSessionStore::Get(
    absl::string_view session_id) {
  if (std::optional<std::string> hit = local_.Get(session_id)) {
    MutexLock lock(&mu_);
    ++metrics_.hits;
    ++metrics_.local_hits;
    return hit;
  }
  const std::string name = KeyNameFor(session_id);
  absl::StatusOr<RedisReply> reply =
      redis_->Command({"GET", name}, Idempotent::kYes);
  const RedisOutcome outcome = RedisOutcomeOf(reply.status());
  if (outcome != RedisOutcome::kSkipped) Count(&Metrics::redis_gets);
  switch (outcome) {
    case RedisOutcome::kSkipped:
      Count(&Metrics::skipped);
      return std::nullopt;
    case RedisOutcome::kTimeout:
      Count(&Metrics::timeouts);
      return std::nullopt;
    case RedisOutcome::kError:
      Count(&Metrics::errors);
      return std::nullopt;
    case RedisOutcome::kOk:
      break;
  }
  if (reply->is_nil()) {
    Count(&Metrics::misses);
    return std::nullopt;
  }
  absl::Time expiry;
  std::optional<std::string> session =
      reply->is_string() ? OpenValue(name, reply->str, &expiry) : std::nullopt;
  if (!session) {
    MutexLock lock(&mu_);
    ++metrics_.errors;
    ++metrics_.rejected;
    return std::nullopt;
  }
  if (config_.clock() >= expiry) {
    Secret::Wipe(*session);
    Count(&Metrics::misses);
    return std::nullopt;
  }
  local_.Put(session_id, *session, expiry);
  Count(&Metrics::hits);
  return session;
}

void RedisServerSessionStore::Remove(absl::string_view session_id) {
  local_.Remove(session_id);
  Enqueue(Write{KeyNameFor(session_id), std::nullopt, absl::InfiniteFuture()});
}

void RedisServerSessionStore::Enqueue(Write write) {
  {
    MutexLock lock(&mu_);
    if (queue_.size() >= config_.max_pending_writes) {
      ++metrics_.dropped_writes;
      return;
    }
    queue_.push_back(std::move(write));
  }
  wake_.notify_all();
}

void RedisServerSessionStore::RunWriter() {
  for (;;) {
    std::optional<std::vector<Write>> batch = TakeBatch();
    if (!batch) return;
    SendBatch(*batch);
    wake_.notify_all();
  }
}

std::optional<std::vector<RedisServerSessionStore::Write>>
RedisServerSessionStore::TakeBatch() {
  MutexLock lock(&mu_);
  MutexLockable lockable{&mu_};
  wake_.wait(lockable, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return stop_ || !queue_.empty();
  });
  if (stop_) return std::nullopt;
  std::vector<Write> batch;
  while (!queue_.empty() && batch.size() < kMaxBatch) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  in_flight_ = batch.size();
  return batch;
}

void RedisServerSessionStore::SendBatch(const std::vector<Write>& batch) {
  std::vector<std::vector<std::string>> commands;
  const absl::Time now = config_.clock();
  size_t expired = 0;
  for (const Write& w : batch) {
    if (!w.value) {
      commands.push_back({"DEL", w.name});
      continue;
    }
    const int64_t ms = absl::ToInt64Milliseconds(w.expiry - now);
    if (ms <= 0) {
      ++expired;
      continue;
    }
    commands.push_back({"SET", w.name, *w.value, "PX", absl::StrCat(ms)});
  }
  absl::StatusOr<std::vector<RedisReply>> replies =
      redis_->Pipeline(commands, config_.write_timeout,
                       Idempotent::kYes);  // SET of fixed values, DEL.
  MutexLock lock(&mu_);
  metrics_.dropped_writes += expired;
  if (replies.ok()) {
    for (const RedisReply& r : *replies) {
      ++(r.type == RedisReply::Type::kError ? metrics_.write_failures
                                            : metrics_.writes);
    }
  } else {
    metrics_.write_failures += commands.size();
  }
  in_flight_ = 0;
}

bool RedisServerSessionStore::WaitForWrites(absl::Duration timeout) {
  MutexLock lock(&mu_);
  MutexLockable lockable{&mu_};
  return wake_.wait_for(lockable, absl::ToChronoNanoseconds(timeout),
                        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                          return queue_.empty() && in_flight_ == 0;
                        });
}

RedisServerSessionStore::Metrics RedisServerSessionStore::metrics() const {
  MutexLock lock(&mu_);
  return metrics_;
}

}  // namespace tlsession::fleet
