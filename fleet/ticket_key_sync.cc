#include "fleet/ticket_key_sync.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/lockable.h"
#include "base/secret.h"

namespace tlsession::fleet {
namespace {

constexpr char kRecordFormat = 1;
constexpr size_t kRecordSize = 1 + 8 + 8 + TicketKey::kSerializedSize;

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out->push_back(static_cast<char>((v >> (56 - 8 * i)) & 0xff));
  }
}

uint64_t GetU64(absl::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string NameBytes(const TicketKey& key) {
  return std::string(reinterpret_cast<const char*>(key.name.data()),
                     key.name.size());
}

// Floor division: epochs before 1970 never occur, but stay correct.
int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

absl::Status Validate(const TicketKeySync::Config& c) {
  if (c.sync_interval <= absl::ZeroDuration() ||
      c.rotation_period < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError(
        "ticket key sync: sync_interval must be positive and rotation_period "
        "at least 100ms");
  }
  if (c.publish_lead < 2 * c.sync_interval ||
      c.publish_lead > c.rotation_period - c.sync_interval) {
    return absl::InvalidArgumentError(
        "ticket key sync: publish_lead must be at least two sync intervals "
        "and at most rotation_period - sync_interval");
  }
  if (c.lease < 2 * c.sync_interval || c.grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "ticket key sync: lease must be at least two sync intervals, grace "
        "not negative");
  }
  const double window =
      std::ceil((c.grace + c.publish_lead) / c.rotation_period) + 3;
  if (window > static_cast<double>(c.max_keys)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ticket key sync: (grace + publish_lead) / rotation_period + 3 = ",
        window, " keys exceed max_keys ", c.max_keys));
  }
  return absl::OkStatus();
}

// KEYS[1] an epoch's key; ARGV: the corrupt value read, the new value, its
// PX. Replaces the value only while it is still the corrupt one read (a
// holder that raced us may have repaired it already): 1 when replaced.
constexpr char kReplaceScript[] = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
)lua";

std::string RandomId() {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TicketKeySync>> TicketKeySync::Start(
    std::shared_ptr<RedisClient> redis, std::shared_ptr<const FleetKey> key,
    Config config) {
  if (absl::Status s = Validate(config); !s.ok()) return s;
  if (redis == nullptr || key == nullptr) {
    return absl::InvalidArgumentError(
        "ticket key sync needs a Redis client and a fleet key");
  }
  std::unique_ptr<TicketKeySync> sync(
      new TicketKeySync(std::move(redis), std::move(key), std::move(config)));
  {
    MutexLock lock(&sync->round_mu_);
    (void)sync->Round();  // Redis may be down: a local key fills in.
  }
  if (sync->config_.background) {
    TicketKeySync* raw = sync.get();
    sync->thread_ = std::thread([raw] { raw->Run(); });
  }
  return sync;
}

TicketKeySync::TicketKeySync(std::shared_ptr<RedisClient> redis,
                             std::shared_ptr<const FleetKey> key, Config config)
    : redis_(std::move(redis)),
      key_(std::move(key)),
      config_(std::move(config)),
      lease_name_(key_->KeyName("tk-lease", "")),
      instance_id_(RandomId()) {}

TicketKeySync::~TicketKeySync() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t TicketKeySync::EpochAt(absl::Time t) const {
  return FloorDiv(absl::ToUnixMillis(t),
                  absl::ToInt64Milliseconds(config_.rotation_period));
}

absl::Time TicketKeySync::EpochStart(int64_t epoch) const {
  return absl::FromUnixMillis(
      epoch * absl::ToInt64Milliseconds(config_.rotation_period));
}

absl::Time TicketKeySync::IssueFrom(const Record& r) const {
  return std::max(EpochStart(r.epoch), r.published + config_.publish_lead);
}

absl::Time TicketKeySync::DecryptUntil(const Record& r) const {
  return std::max(EpochStart(r.epoch + 1) + config_.publish_lead,
                  r.last_issuing) +
         config_.grace;
}

std::string TicketKeySync::NameOf(int64_t epoch) const {
  return key_->KeyName("tk", absl::StrCat(epoch));
}

std::string TicketKeySync::Encode(const Record& r) const {
  std::string out;
  out.push_back(kRecordFormat);
  PutU64(&out, static_cast<uint64_t>(r.epoch));
  PutU64(&out, static_cast<uint64_t>(absl::ToUnixMillis(r.published)));
  std::string key = r.key.ToBytes();
  out += key;
  Secret::Wipe(key);
  return out;
}

std::optional<TicketKeySync::Record> TicketKeySync::Decode(
    const std::string& name, const std::string& sealed, int64_t epoch) {
  absl::StatusOr<Secret> plain = key_->Open(name, sealed);
  if (!plain.ok() || plain->size() != kRecordSize ||
      plain->view()[0] != kRecordFormat ||
      static_cast<int64_t>(GetU64(plain->view().substr(1))) != epoch) {
    return std::nullopt;
  }
  absl::StatusOr<TicketKey> key =
      TicketKey::FromBytes(plain->view().substr(17));
  if (!key.ok()) return std::nullopt;
  Record r;
  r.epoch = epoch;
  r.published = absl::FromUnixMillis(
      static_cast<int64_t>(GetU64(plain->view().substr(9))));
  r.key = *key;
  r.in_redis = true;
  return r;
}

bool TicketKeySync::UpdateLease() {
  const std::string ms = absl::StrCat(absl::ToInt64Milliseconds(config_.lease));
  absl::StatusOr<RedisReply> take =
      redis_->Command({"SET", lease_name_, instance_id_, "NX", "PX", ms});
  if (!take.ok()) return false;
  if (take->type == RedisReply::Type::kStatus) return true;  // Taken.
  absl::StatusOr<RedisReply> holder =
      redis_->Command({"GET", lease_name_}, Idempotent::kYes);
  if (!holder.ok() || !holder->is_string() || holder->str != instance_id_) {
    return false;
  }
  // Ours: renew. (Should it have expired since the GET and been taken, this
  // extends the other holder's lease; per-epoch SET NX keeps keys unique.)
  absl::StatusOr<RedisReply> renew =
      redis_->Command({"PEXPIRE", lease_name_, ms}, Idempotent::kYes);
  return renew.ok() && renew->integer == 1;
}

absl::StatusOr<std::map<int64_t, std::optional<TicketKeySync::Record>>>
TicketKeySync::FetchWindow(int64_t epoch,
                           std::map<int64_t, std::string>* corrupt) {
  const int64_t back =
      static_cast<int64_t>(std::ceil((config_.grace + config_.publish_lead) /
                                     config_.rotation_period)) +
      1;
  std::vector<int64_t> epochs;
  std::vector<std::vector<std::string>> commands;
  for (int64_t e = epoch - back; e <= epoch + 1; ++e) {
    epochs.push_back(e);
    commands.push_back({"GET", NameOf(e)});
  }
  absl::StatusOr<std::vector<RedisReply>> replies =
      redis_->Pipeline(commands, Idempotent::kYes);  // GETs.
  if (!replies.ok()) return replies.status();
  std::map<int64_t, std::optional<Record>> out;
  uint64_t rejected = 0;
  for (size_t i = 0; i < epochs.size(); ++i) {
    const RedisReply& r = (*replies)[i];
    if (r.type == RedisReply::Type::kError) {
      return absl::FailedPreconditionError(
          absl::StrCat("reading ticket keys: ", r.str));
    }
    std::optional<Record> record;
    if (r.is_string()) {
      record = Decode(commands[i][1], r.str, epochs[i]);
      if (!record) {
        ++rejected;
        (*corrupt)[epochs[i]] = r.str;  // Not present: the holder replaces it.
      }
    }
    if (record) out[epochs[i]] = std::move(record);
  }
  MutexLock lock(&mu_);
  metrics_.rejected += rejected;
  return out;
}

void TicketKeySync::Merge(std::map<int64_t, std::optional<Record>>& fetched) {
  std::set<std::string> seen;
  for (auto& [epoch, record] : fetched) {
    if (!record) continue;
    const std::string name = NameBytes(record->key);
    seen.insert(name);
    auto it = records_.find(name);
    if (it == records_.end()) {
      records_.emplace(name, std::move(*record));
    }
  }
  for (auto& [name, r] : records_) {
    r.in_redis = seen.count(name) > 0;
    if (r.in_redis) r.local_only = false;
  }
}

void TicketKeySync::Publish(int64_t epoch, absl::Time now,
                            const std::string* corrupt) {
  Record fresh;
  Record* existing = nullptr;
  for (auto& [name, r] : records_) {
    if (r.epoch == epoch &&
        (existing == nullptr || r.published > existing->published)) {
      existing = &r;
    }
  }
  fresh.epoch = epoch;
  fresh.key = existing != nullptr ? existing->key : TicketKey::Generate();
  // A key this process holds already keeps its publication time: it may be
  // issuing here, and every instance that loads it again may issue it too.
  fresh.published = existing != nullptr ? existing->published : now;
  const std::string name = NameOf(epoch);
  std::string plain = Encode(fresh);
  const std::string sealed = key_->Seal(name, plain);
  Secret::Wipe(plain);
  const absl::Duration ttl =
      DecryptUntil(fresh) - now + config_.rotation_period;
  const std::string px = absl::StrCat(absl::ToInt64Milliseconds(ttl));
  // Not idempotent (SET NX's reply says who won; the replacement compares):
  // never retried.
  absl::StatusOr<RedisReply> set =
      corrupt == nullptr
          ? redis_->Command({"SET", name, sealed, "NX", "PX", px})
          : redis_->Command(
                {"EVAL", kReplaceScript, "1", name, *corrupt, sealed, px});
  const bool written =
      set.ok() && (corrupt == nullptr ? set->type == RedisReply::Type::kStatus
                                      : set->integer == 1);
  if (!written) return;  // Lost a race, or Redis failed.
  {
    MutexLock lock(&mu_);
    ++metrics_.published;
    if (corrupt != nullptr) ++metrics_.replaced;
  }
  if (existing != nullptr) {
    existing->in_redis = true;
    existing->local_only = false;
    return;
  }
  fresh.in_redis = true;
  records_.emplace(NameBytes(fresh.key), std::move(fresh));
}

void TicketKeySync::EnsureSomeKey(absl::Time now) {
  if (!records_.empty()) return;
  Record local;
  local.epoch = EpochAt(now);
  // Published a lead ago: it issues at once.
  local.published = now - config_.publish_lead;
  local.key = TicketKey::Generate();
  local.local_only = true;
  records_.emplace(NameBytes(local.key), std::move(local));
}

TicketKeySync::Record* TicketKeySync::ChooseIssuing(absl::Time now) {
  Record* best = nullptr;
  auto rank = [](const Record& r) {
    return std::make_tuple(r.epoch, r.in_redis, !r.local_only, r.published);
  };
  for (auto& [name, r] : records_) {
    if (IssueFrom(r) > now) continue;
    if (best == nullptr || rank(r) > rank(*best)) best = &r;
  }
  if (best != nullptr) return best;
  // Nothing may issue yet (a cold start): the first key to become ready.
  for (auto& [name, r] : records_) {
    if (best == nullptr || IssueFrom(r) < IssueFrom(*best)) best = &r;
  }
  return best;
}

void TicketKeySync::UpdateRing(absl::Time now) {
  Record* issuing = ChooseIssuing(now);
  issuing->last_issuing = now;
  const std::string issuing_name = NameBytes(issuing->key);
  // Drop keys past their grace (wiped as they go), then the oldest beyond
  // max_keys.
  for (auto it = records_.begin(); it != records_.end();) {
    const bool expired =
        it->first != issuing_name && DecryptUntil(it->second) <= now;
    it = expired ? records_.erase(it) : std::next(it);
  }
  std::vector<const Record*> others;
  for (const auto& [name, r] : records_) {
    if (name != issuing_name) others.push_back(&r);
  }
  std::sort(others.begin(), others.end(), [](const Record* a, const Record* b) {
    return std::tie(a->epoch, a->published) > std::tie(b->epoch, b->published);
  });
  while (others.size() + 1 > config_.max_keys) {
    records_.erase(NameBytes(others.back()->key));
    others.pop_back();
  }
  std::vector<std::string> names = {issuing_name};
  std::vector<TicketKey> decrypt_only;
  for (const Record* r : others) {
    names.push_back(NameBytes(r->key));
    decrypt_only.push_back(r->key);
  }
  MutexLock lock(&mu_);
  metrics_.issuing_epoch = issuing->epoch;
  metrics_.issuing_local = issuing->local_only;
  metrics_.keys = names.size();
  if (names == ring_names_) return;
  ring_names_ = std::move(names);
  ++metrics_.ring_changes;
  if (ring_ == nullptr) {
    ring_ = std::make_shared<TicketKeyRing>(issuing->key);
  }
  ring_->Replace(issuing->key, std::move(decrypt_only));
}

absl::Time TicketKeySync::NextWake(absl::Time now) {
  absl::Time next = now + config_.sync_interval;
  for (const auto& [name, r] : records_) {
    for (absl::Time t : {IssueFrom(r), DecryptUntil(r)}) {
      if (t > now && t < next) next = t;
    }
  }
  return std::max(next, now + absl::Milliseconds(10));
}

absl::Status TicketKeySync::Round() {
  const absl::Time now = config_.clock();
  const int64_t epoch = EpochAt(now);
  const bool holder = UpdateLease();
  std::map<int64_t, std::string> corrupt;
  absl::StatusOr<std::map<int64_t, std::optional<Record>>> fetched =
      FetchWindow(epoch, &corrupt);
  if (fetched.ok()) {
    Merge(*fetched);
    for (int64_t e : {epoch, epoch + 1}) {
      if (!holder || fetched->count(e) != 0) continue;
      auto bad = corrupt.find(e);
      Publish(e, now, bad == corrupt.end() ? nullptr : &bad->second);
    }
  }
  EnsureSomeKey(now);
  UpdateRing(now);
  next_wake_ = NextWake(now);
  MutexLock lock(&mu_);
  metrics_.holder = holder;
  ++(fetched.ok() ? metrics_.syncs : metrics_.sync_failures);
  return fetched.status();
}

absl::Status TicketKeySync::SyncNow() {
  MutexLock lock(&round_mu_);
  return Round();
}

void TicketKeySync::Run() {
  for (;;) {
    absl::Time wake;
    {
      MutexLock lock(&round_mu_);
      wake = next_wake_;  // Set by the previous round (Start ran the first).
    }
    {
      MutexLock lock(&mu_);
      MutexLockable lockable{&mu_};
      const auto wait = std::chrono::nanoseconds(
          std::max<int64_t>(absl::ToInt64Nanoseconds(wake - absl::Now()), 0));
      if (wake_.wait_for(
              lockable, wait,
              [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return stop_; })) {
        return;
      }
    }
    MutexLock lock(&round_mu_);
    (void)Round();
  }
}

TicketKeySync::Metrics TicketKeySync::metrics() const {
  MutexLock lock(&mu_);
  return metrics_;
}

}  // namespace tlsession::fleet
