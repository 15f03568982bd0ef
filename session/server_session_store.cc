#include "session/server_session_store.h"

#include <openssl/err.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/secret.h"

namespace tlsession {

void ServerSessionStore::PutSession(absl::string_view session_id,
                                    SSL_SESSION* session, absl::Time expiry) {
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!SSL_SESSION_to_bytes(session, &data, &len)) {
    ERR_clear_error();
    return;
  }
  bssl::UniquePtr<uint8_t> owned(data);  // OPENSSL_free wipes it.
  Put(session_id, std::string(reinterpret_cast<const char*>(data), len),
      expiry);
}

bssl::UniquePtr<SSL_SESSION> ServerSessionStore::GetSession(
    absl::string_view session_id, const SSL_CTX* ctx) {
  std::optional<std::string> bytes = Get(session_id);
  if (!bytes) return nullptr;
  bssl::UniquePtr<SSL_SESSION> session(SSL_SESSION_from_bytes(
      reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), ctx));
  Secret::Wipe(*bytes);
  if (!session) ERR_clear_error();  // A damaged entry is a miss.
  return session;
}

absl::Status ServerSessionStore::ClaimEarlyData(
    absl::string_view /*ticket_digest*/, absl::Time /*expiry*/) {
  return absl::UnimplementedError(
      "this server session store cannot prove a ticket unused (no "
      "single-use check)");
}

MemoryServerSessionStore::MemoryServerSessionStore()
    : MemoryServerSessionStore(Config()) {}

MemoryServerSessionStore::MemoryServerSessionStore(Config config)
    : clock_(std::move(config.clock)),
      max_claims_(config.max_early_data_claims),
      entries_(config.max_entries) {}

MemoryServerSessionStore::~MemoryServerSessionStore() {
  MutexLock lock(&mu_);
  entries_.EraseIf([](const std::string&, Entry& e) {
    Clear(e);  // Sessions hold their master secrets: wipe them as they go.
    return true;
  });
}

void MemoryServerSessionStore::Clear(Entry& entry) {
  Secret::Wipe(entry.serialized_session);
  entry.session.reset();  // BoringSSL wipes the last reference's memory.
}

MemoryServerSessionStore::Entry* MemoryServerSessionStore::Refill(
    absl::string_view session_id, absl::Time now, absl::Time expiry) {
  if (now >= expiry) {
    // Nothing to store; the caller meant to replace any older entry.
    if (Entry* old = entries_.Find(session_id)) Clear(*old);
    entries_.Erase(session_id);
    return nullptr;
  }
  uint64_t evicted = 0;  // Counted here: the analysis cannot see into it.
  Entry* entry = entries_.FindOrCreate(session_id, [&evicted](Entry& victim) {
    Clear(victim);
    ++evicted;
  });
  metrics_.evictions += evicted;
  if (entry == nullptr) return nullptr;  // A store of zero entries.
  ++metrics_.insertions;
  Clear(*entry);
  entry->expiry = expiry;
  return entry;
}

MemoryServerSessionStore::Entry* MemoryServerSessionStore::FindLive(
    absl::string_view session_id, absl::Time now) {
  Entry* entry = entries_.Find(session_id);
  if (entry != nullptr && now >= entry->expiry) {
    Clear(*entry);
    entries_.Erase(session_id);
    ++metrics_.expirations;
    entry = nullptr;
  }
  ++(entry != nullptr ? metrics_.hits : metrics_.misses);
  return entry;
}

void MemoryServerSessionStore::Put(absl::string_view session_id,
                                   std::string serialized_session,
                                   absl::Time expiry) {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  if (Entry* entry = Refill(session_id, now, expiry)) {
    entry->serialized_session = std::move(serialized_session);
  } else {
    Secret::Wipe(serialized_session);
  }
}

void MemoryServerSessionStore::PutSession(absl::string_view session_id,
                                          SSL_SESSION* session,
                                          absl::Time expiry) {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  if (Entry* entry = Refill(session_id, now, expiry)) {
    SSL_SESSION_up_ref(session);
    entry->session.reset(session);
  }
}

std::optional<std::string> MemoryServerSessionStore::Get(
    absl::string_view session_id) {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  Entry* entry = FindLive(session_id, now);
  if (entry == nullptr) return std::nullopt;
  if (!entry->session) return entry->serialized_session;
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!SSL_SESSION_to_bytes(entry->session.get(), &data, &len)) {
    ERR_clear_error();
    return std::nullopt;
  }
  bssl::UniquePtr<uint8_t> owned(data);  // OPENSSL_free wipes it.
  return std::string(reinterpret_cast<const char*>(data), len);
}

bssl::UniquePtr<SSL_SESSION> MemoryServerSessionStore::GetSession(
    absl::string_view session_id, const SSL_CTX* ctx) {
  const absl::Time now = clock_();
  bssl::UniquePtr<SSL_SESSION> session;
  std::string bytes;
  {
    MutexLock lock(&mu_);
    Entry* entry = FindLive(session_id, now);
    if (entry == nullptr) return nullptr;
    if (entry->session) {
      SSL_SESSION_up_ref(entry->session.get());
      return bssl::UniquePtr<SSL_SESSION>(entry->session.get());
    }
    bytes = entry->serialized_session;
  }
  // Stored as bytes (by Put): parsed outside the lock.
  session.reset(SSL_SESSION_from_bytes(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ctx));
  Secret::Wipe(bytes);
  if (!session) ERR_clear_error();  // A damaged entry is a miss.
  return session;
}

void MemoryServerSessionStore::Remove(absl::string_view session_id) {
  MutexLock lock(&mu_);
  if (Entry* entry = entries_.Find(session_id)) Clear(*entry);
  entries_.Erase(session_id);
}

void MemoryServerSessionStore::DropExpiredClaims(absl::Time now) {
  while (!claim_order_.empty() && now >= claim_order_.front().first) {
    claims_.erase(claim_order_.front().second);
    claim_order_.pop_front();
  }
}

absl::Status MemoryServerSessionStore::ClaimEarlyData(
    absl::string_view ticket_digest, absl::Time expiry) {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  DropExpiredClaims(now);
  if (claims_.contains(ticket_digest)) {
    ++metrics_.early_data_replays;
    return absl::AlreadyExistsError("the ticket was already used for 0-RTT");
  }
  if (claims_.size() >= max_claims_) {
    ++metrics_.early_data_full;
    return absl::ResourceExhaustedError(absl::StrCat(
        "all ", max_claims_, " early-data claims are live (none expired)"));
  }
  claims_.emplace(ticket_digest);
  claim_order_.emplace_back(expiry, std::string(ticket_digest));
  ++metrics_.early_data_claims;
  return absl::OkStatus();
}

size_t MemoryServerSessionStore::entry_count() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

MemoryServerSessionStore::Metrics MemoryServerSessionStore::metrics() const {
  MutexLock lock(&mu_);
  return metrics_;
}

}  // namespace tlsession
