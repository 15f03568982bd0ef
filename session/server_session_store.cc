#include "session/server_session_store.h"

#include <utility>

namespace tlsession {

InMemoryServerSessionStore::InMemoryServerSessionStore()
    : InMemoryServerSessionStore(Config()) {}

InMemoryServerSessionStore::InMemoryServerSessionStore(Config config)
    : config_(std::move(config)) {}

InMemoryServerSessionStore::~InMemoryServerSessionStore() = default;

void InMemoryServerSessionStore::Put(absl::string_view session_id,
                                     std::string serialized_session,
                                     absl::Time expiry) {
  const absl::Time now = config_.clock();
  MutexLock lock(&mu_);
  auto it = entries_.find(session_id);
  if (now >= expiry || config_.max_entries == 0) {
    // Nothing to store; the caller meant to replace any older entry.
    if (it != entries_.end()) {
      lru_.erase(it->second.lru);
      entries_.erase(it);
    }
    return;
  }
  ++metrics_.insertions;
  if (it != entries_.end()) {
    it->second.serialized_session = std::move(serialized_session);
    it->second.expiry = expiry;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  while (entries_.size() >= config_.max_entries) {
    entries_.erase(lru_.back());
    lru_.pop_back();
    ++metrics_.evictions;
  }
  lru_.emplace_front(session_id);
  entries_.emplace(lru_.front(),
                   Entry{std::move(serialized_session), expiry, lru_.begin()});
}

std::optional<std::string> InMemoryServerSessionStore::Get(
    absl::string_view session_id) {
  const absl::Time now = config_.clock();
  MutexLock lock(&mu_);
  auto it = entries_.find(session_id);
  if (it == entries_.end()) {
    ++metrics_.misses;
    return std::nullopt;
  }
  if (now >= it->second.expiry) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
    ++metrics_.expirations;
    ++metrics_.misses;
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++metrics_.hits;
  return it->second.serialized_session;
}

void InMemoryServerSessionStore::Remove(absl::string_view session_id) {
  MutexLock lock(&mu_);
  auto it = entries_.find(session_id);
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
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
