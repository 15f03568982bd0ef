#include "session/client_session_cache.h"

#include <openssl/hmac.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "session/memory_client_session_store.h"

namespace tlsession {
namespace {

std::shared_ptr<ClientSessionStore> StoreFor(
    const ClientSessionCache::Config& config) {
  if (config.store != nullptr) return config.store;
  MemoryClientSessionStore::Config store_config;
  store_config.max_entries = config.max_entries;
  store_config.max_sessions_per_key = config.max_sessions_per_key;
  return std::make_shared<MemoryClientSessionStore>(store_config);
}

// Appends each field with its length: no two keys share an encoding.
void AppendField(std::string* out, absl::string_view field) {
  absl::StrAppend(out, field.size(), ":", field, ";");
}

// How many unusable sessions one Lookup discards before it calls it a miss.
constexpr int kMaxLookupAttempts = 64;

}  // namespace

ClientSessionCache::ClientSessionCache() : ClientSessionCache(Config()) {}

ClientSessionCache::ClientSessionCache(Config config)
    : store_(StoreFor(config)),
      digest_key_(std::move(config.digest_key)),
      clock_(std::move(config.clock)) {}

ClientSessionCache::~ClientSessionCache() = default;

std::string ClientSessionCache::Hmac(
    absl::string_view label, const std::vector<std::string>& fields) const {
  std::string message(label);
  for (const std::string& f : fields) AppendField(&message, f);
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), digest_key_.data(), digest_key_.size(),
       reinterpret_cast<const uint8_t*>(message.data()), message.size(), out,
       &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

StoreKey ClientSessionCache::Digests(const Key& key) const {
  return StoreKey{KeyDigest(key), PeerDigest(key.host, key.port)};
}

std::string ClientSessionCache::KeyDigest(const Key& key) const {
  const auto& [context_id, host, port, alpn] = TieKeyFields(key);
  std::vector<std::string> fields = {context_id, host, absl::StrCat(port)};
  // The ALPN list as one length-prefixed field of length-prefixed names.
  std::string alpn_field;
  for (const std::string& p : alpn) AppendField(&alpn_field, p);
  fields.push_back(std::move(alpn_field));
  return Hmac("tlsession key v2", fields);
}

std::string ClientSessionCache::PeerDigest(absl::string_view host,
                                           uint16_t port) const {
  return Hmac("tlsession peer v1", {std::string(host), absl::StrCat(port)});
}

bool ClientSessionCache::UsesDigestKey(absl::string_view digest_key) const {
  return digest_key_.view() == digest_key;
}

bool ClientSessionCache::Offerable(const Key& key, const Session& session,
                                   absl::Time now) const {
  return session.is_resumable() && session.IsUsableAt(now) &&
         session.BelongsTo(key.context_id);
}

void ClientSessionCache::Count(uint64_t Metrics::*counter, uint64_t n) {
  MutexLock lock(&mu_);
  metrics_.*counter += n;
}

Session ClientSessionCache::Lookup(const Key& key) {
  const std::string digest = KeyDigest(key);
  const absl::Time now = clock_();
  // Bounded: a store that failed to drop what it handed out must not spin.
  for (int attempt = 0; attempt < kMaxLookupAttempts; ++attempt) {
    Session session = store_->Take(digest);
    if (session.empty()) break;
    if (Offerable(key, session, now)) {
      Count(&Metrics::hits);
      return session;
    }
    // Unusable: a single-use one has already left the store.
    if (!session.is_single_use()) store_->Remove(digest, session);
    Count(&Metrics::expirations);
  }
  Count(&Metrics::misses);
  return Session();
}

absl::Status ClientSessionCache::Insert(const Key& key,
                                        const Session& session) {
  if (!session.is_resumable()) {
    return absl::InvalidArgumentError(
        "refusing to cache a session that is not resumable");
  }
  if (!session.BelongsTo(key.context_id)) {
    return absl::InvalidArgumentError(
        "refusing to cache a session under another context's key");
  }
  if (!session.IsUsableAt(clock_())) {
    Count(&Metrics::expirations);
    return absl::InvalidArgumentError(
        "refusing to cache a session that is no longer usable");
  }
  store_->Put(Digests(key), session);
  Count(&Metrics::insertions);
  return absl::OkStatus();
}

void ClientSessionCache::Remove(const Key& key, const Session& session) {
  store_->Remove(KeyDigest(key), session);
}

void ClientSessionCache::Clear() { store_->Clear(); }

void ClientSessionCache::RemovePeer(absl::string_view host, uint16_t port) {
  store_->RemovePeer(PeerDigest(host, port));
}

ClientSessionCache::Metrics ClientSessionCache::metrics() const {
  MutexLock lock(&mu_);
  Metrics m = metrics_;
  m.evictions = store_->evictions();
  return m;
}

std::optional<size_t> ClientSessionCache::entry_count() const {
  const ClientSessionStoreCounts* counts = store_->counts();
  if (counts == nullptr) return std::nullopt;
  return counts->entry_count();
}

std::optional<size_t> ClientSessionCache::session_count() const {
  const ClientSessionStoreCounts* counts = store_->counts();
  if (counts == nullptr) return std::nullopt;
  return counts->session_count();
}

}  // namespace tlsession
