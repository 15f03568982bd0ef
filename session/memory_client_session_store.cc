#include "session/memory_client_session_store.h"

#include <algorithm>
#include <utility>

namespace tlsession {

MemoryClientSessionStore::MemoryClientSessionStore()
    : MemoryClientSessionStore(Config()) {}

MemoryClientSessionStore::MemoryClientSessionStore(Config config)
    : max_sessions_per_key_(std::max<size_t>(config.max_sessions_per_key, 1)),
      nodes_(config.max_entries) {}

void MemoryClientSessionStore::Put(const StoreKey& key,
                                   const Session& session) {
  if (session.empty()) return;
  MutexLock lock(&mu_);
  uint64_t evicted = 0;  // Counted here: the analysis cannot see into it.
  Node* node = nodes_.FindOrCreate(
      key.key, [&evicted](Node& victim) { evicted += victim.sessions.size(); });
  evictions_ += evicted;
  if (node == nullptr) return;  // A store of zero keys.
  node->peer = key.peer;
  auto& sessions = node->sessions;
  if (std::find(sessions.begin(), sessions.end(), session) != sessions.end()) {
    return;
  }
  // A reusable session replaces everything; a ticket replaces a reusable
  // session (the peer now speaks TLS 1.3).
  const bool single_use = session.is_single_use();
  sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                [&](const Session& s) {
                                  return !single_use || !s.is_single_use();
                                }),
                 sessions.end());
  sessions.push_back(session);
  while (sessions.size() > max_sessions_per_key_) {
    sessions.pop_front();
    ++evictions_;
  }
}

Session MemoryClientSessionStore::Take(absl::string_view key) {
  MutexLock lock(&mu_);
  Node* node = nodes_.Find(key);
  if (node == nullptr || node->sessions.empty()) return Session();
  Session newest = node->sessions.back();
  if (newest.is_single_use()) node->sessions.pop_back();
  if (node->sessions.empty()) nodes_.Erase(key);
  return newest;
}

void MemoryClientSessionStore::Remove(absl::string_view key,
                                      const Session& session) {
  MutexLock lock(&mu_);
  Node* node = nodes_.Find(key);
  if (node == nullptr) return;
  auto& sessions = node->sessions;
  sessions.erase(std::remove(sessions.begin(), sessions.end(), session),
                 sessions.end());
  if (sessions.empty()) nodes_.Erase(key);
}

void MemoryClientSessionStore::RemovePeer(absl::string_view peer) {
  MutexLock lock(&mu_);
  nodes_.EraseIf(
      [&](const std::string&, Node& node) { return node.peer == peer; });
}

void MemoryClientSessionStore::Clear() {
  MutexLock lock(&mu_);
  nodes_.Clear();
}

std::vector<StoreEntry> MemoryClientSessionStore::Export(bool take_single_use) {
  MutexLock lock(&mu_);
  std::vector<StoreEntry> out;
  nodes_.ForEachOldestFirst([&](const std::string& key, const Node& node) {
    out.push_back(StoreEntry{StoreKey{key, node.peer},
                             {node.sessions.begin(), node.sessions.end()}});
  });
  if (take_single_use) {
    nodes_.EraseIf([](const std::string&, Node& node) {
      return node.sessions.empty() || node.sessions.back().is_single_use();
    });
  }
  return out;
}

size_t MemoryClientSessionStore::entry_count() const {
  MutexLock lock(&mu_);
  return nodes_.size();
}

size_t MemoryClientSessionStore::session_count() const {
  MutexLock lock(&mu_);
  size_t n = 0;
  nodes_.ForEachOldestFirst(
      [&](const std::string&, const Node& node) { n += node.sessions.size(); });
  return n;
}

uint64_t MemoryClientSessionStore::evictions() const {
  MutexLock lock(&mu_);
  return evictions_;
}

}  // namespace tlsession
