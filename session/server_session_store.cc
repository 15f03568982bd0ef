#include "session/server_session_store.h"

#include <utility>

#include "session/secret.h"

namespace tlsession {

InMemoryServerSessionStore::InMemoryServerSessionStore()
    : InMemoryServerSessionStore(Config()) {}

InMemoryServerSessionStore::InMemoryServerSessionStore(Config config)
    : clock_(std::move(config.clock)), entries_(config.max_entries) {}

InMemoryServerSessionStore::~InMemoryServerSessionStore() {
  MutexLock lock(&mu_);
  entries_.EraseIf([](const std::string&, Entry& e) {
    // Sessions hold their master secrets: wipe them as they go.
    Secret::Wipe(e.serialized_session);
    return true;
  });
}

void InMemoryServerSessionStore::Put(absl::string_view session_id,
                                     std::string serialized_session,
                                     absl::Time expiry) {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  if (now >= expiry) {
    // Nothing to store; the caller meant to replace any older entry.
    entries_.Erase(session_id);
    return;
  }
  Entry* entry = entries_.FindOrCreate(
      session_id, [this](Entry& victim) {
        Secret::Wipe(victim.serialized_session);
        ++metrics_.evictions;
      });
  if (entry == nullptr) return;  // A store of zero entries.
  ++metrics_.insertions;
  Secret::Wipe(entry->serialized_session);
  entry->serialized_session = std::move(serialized_session);
  entry->expiry = expiry;
}

std::optional<std::string> InMemoryServerSessionStore::Get(
    absl::string_view session_id) {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  Entry* entry = entries_.Find(session_id);
  if (entry == nullptr) {
    ++metrics_.misses;
    return std::nullopt;
  }
  if (now >= entry->expiry) {
    Secret::Wipe(entry->serialized_session);
    entries_.Erase(session_id);
    ++metrics_.expirations;
    ++metrics_.misses;
    return std::nullopt;
  }
  ++metrics_.hits;
  return entry->serialized_session;
}

void InMemoryServerSessionStore::Remove(absl::string_view session_id) {
  MutexLock lock(&mu_);
  if (Entry* entry = entries_.Find(session_id)) {
    Secret::Wipe(entry->serialized_session);
  }
  entries_.Erase(session_id);
}

size_t InMemoryServerSessionStore::size() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

InMemoryServerSessionStore::Metrics InMemoryServerSessionStore::metrics()
    const {
  MutexLock lock(&mu_);
  return metrics_;
}

}  // namespace tlsession
