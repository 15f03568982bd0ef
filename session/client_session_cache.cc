#include "session/client_session_cache.h"

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tlsession {

ClientSessionCache::ClientSessionCache() : ClientSessionCache(Config()) {}

ClientSessionCache::ClientSessionCache(Config config)
    : config_(std::move(config)) {}

void ClientSessionCache::set_digest_key(std::string digest_key) {
  MutexLock lock(&mu_);
  digest_key_ = std::move(digest_key);
}

std::string ClientSessionCache::Digest(
    absl::string_view label, const std::vector<std::string>& fields) const {
  // Length-prefixed fields: no two keys share an encoding.
  std::string message(label);
  for (const std::string& f : fields) {
    absl::StrAppend(&message, f.size(), ":", f, ";");
  }
  std::string key;
  {
    MutexLock lock(&mu_);
    key = digest_key_;
  }
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), key.size(),
       reinterpret_cast<const uint8_t*>(message.data()), message.size(), out,
       &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string ClientSessionCache::KeyDigest(const Key& key) const {
  std::vector<std::string> fields = {key.context_id, key.host,
                                     absl::StrCat(key.port)};
  fields.insert(fields.end(), key.alpn.begin(), key.alpn.end());
  return Digest("tlsession key v1", fields);
}

std::string ClientSessionCache::PeerDigest(absl::string_view host,
                                           uint16_t port) const {
  return Digest("tlsession peer v1",
                {std::string(host), absl::StrCat(port)});
}

bool ClientSessionCache::Expired(const Session& s, absl::Time now) const {
  if (now >= s.expiry()) return true;
  const absl::Duration hint = s.ticket_lifetime_hint();
  if (hint > absl::ZeroDuration() && now >= s.time() + hint) return true;
  // A session whose certificate has expired must not skip verification.
  return now >= s.peer_certificate_expiry();
}

void ClientSessionCache::TouchLocked(Node& node, const std::string& digest) {
  lru_.erase(node.lru);
  lru_.push_front(digest);
  node.lru = lru_.begin();
}

void ClientSessionCache::EraseLocked(const std::string& digest) {
  auto it = entries_.find(digest);
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void ClientSessionCache::EvictLocked() {
  while (entries_.size() > config_.max_entries && !lru_.empty()) {
    const std::string victim = lru_.back();
    metrics_.evictions += entries_[victim].sessions.size();
    EraseLocked(victim);
  }
}

void ClientSessionCache::AddLocked(const std::string& key_digest,
                                   const std::string& peer_digest,
                                   const Session& session) {
  auto [it, inserted] = entries_.try_emplace(key_digest);
  Node& node = it->second;
  if (inserted) {
    node.peer_digest = peer_digest;
    lru_.push_front(key_digest);
    node.lru = lru_.begin();
  } else {
    TouchLocked(node, key_digest);
  }
  if (!session.is_single_use()) {
    // A reusable (TLS 1.2) session replaces whatever was there.
    node.sessions.clear();
  } else {
    // Drop reusable sessions: a peer that now speaks TLS 1.3 gets tickets.
    node.sessions.erase(
        std::remove_if(node.sessions.begin(), node.sessions.end(),
                       [](const Session& s) { return !s.is_single_use(); }),
        node.sessions.end());
  }
  // The same session twice (one callback, one import) is kept once.
  for (const Session& s : node.sessions) {
    if (s == session) return;
  }
  node.sessions.push_back(session);
  ++metrics_.insertions;
  const size_t limit = std::max<size_t>(config_.max_sessions_per_key, 1);
  while (node.sessions.size() > limit) {
    node.sessions.pop_front();
    ++metrics_.evictions;
  }
  EvictLocked();
}

Session ClientSessionCache::Lookup(const Key& key) {
  const std::string digest = KeyDigest(key);
  const absl::Time now = config_.clock();
  MutexLock lock(&mu_);
  auto it = entries_.find(digest);
  if (it == entries_.end()) {
    ++metrics_.misses;
    return Session();
  }
  Node& node = it->second;
  const size_t before = node.sessions.size();
  node.sessions.erase(
      std::remove_if(node.sessions.begin(), node.sessions.end(),
                     [&](const Session& s) {
                       return Expired(s, now) ||
                              s.context_id() != key.context_id;
                     }),
      node.sessions.end());
  metrics_.expirations += before - node.sessions.size();
  if (node.sessions.empty()) {
    EraseLocked(digest);
    ++metrics_.misses;
    return Session();
  }
  Session newest = node.sessions.back();
  if (newest.is_single_use()) node.sessions.pop_back();
  ++metrics_.hits;
  if (node.sessions.empty()) {
    EraseLocked(digest);
  } else {
    TouchLocked(node, digest);
  }
  return newest;
}

absl::Status ClientSessionCache::Insert(const Key& key,
                                        const Session& session) {
  if (!session.is_resumable()) {
    return absl::InvalidArgumentError(
        "refusing to cache a session that is not resumable");
  }
  if (session.context_id() != key.context_id) {
    return absl::InvalidArgumentError(
        "refusing to cache a session under another context's key");
  }
  const std::string key_digest = KeyDigest(key);
  const std::string peer_digest = PeerDigest(key.host, key.port);
  MutexLock lock(&mu_);
  AddLocked(key_digest, peer_digest, session);
  return absl::OkStatus();
}

void ClientSessionCache::Remove(const Key& key, const Session& session) {
  const std::string digest = KeyDigest(key);
  MutexLock lock(&mu_);
  auto it = entries_.find(digest);
  if (it == entries_.end()) return;
  auto& sessions = it->second.sessions;
  sessions.erase(std::remove(sessions.begin(), sessions.end(), session),
                 sessions.end());
  if (sessions.empty()) EraseLocked(digest);
}

void ClientSessionCache::Flush() {
  MutexLock lock(&mu_);
  entries_.clear();
  lru_.clear();
}

void ClientSessionCache::FlushForPeer(absl::string_view host, uint16_t port) {
  const std::string peer = PeerDigest(host, port);
  MutexLock lock(&mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto node = entries_.find(*it);
    ++it;
    if (node != entries_.end() && node->second.peer_digest == peer) {
      EraseLocked(node->first);
    }
  }
}

ClientSessionCache::Metrics ClientSessionCache::metrics() const {
  MutexLock lock(&mu_);
  return metrics_;
}

size_t ClientSessionCache::size() const {
  MutexLock lock(&mu_);
  return entries_.size();
}

size_t ClientSessionCache::session_count() const {
  MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [digest, node] : entries_) n += node.sessions.size();
  return n;
}

std::vector<ClientSessionCache::Entry> ClientSessionCache::Export() const {
  const absl::Time now = config_.clock();
  MutexLock lock(&mu_);
  std::vector<Entry> out;
  for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
    const Node& node = entries_.at(*it);
    Entry e;
    e.key_digest = *it;
    e.peer_digest = node.peer_digest;
    for (const Session& s : node.sessions) {
      if (!Expired(s, now)) e.sessions.push_back(s);
    }
    if (!e.sessions.empty()) out.push_back(std::move(e));
  }
  return out;
}

size_t ClientSessionCache::Import(std::vector<Entry> entries) {
  const absl::Time now = config_.clock();
  MutexLock lock(&mu_);
  const uint64_t before = metrics_.insertions;
  for (Entry& e : entries) {
    for (const Session& s : e.sessions) {
      if (Expired(s, now) || !s.is_resumable()) {
        ++metrics_.expirations;
        continue;
      }
      AddLocked(e.key_digest, e.peer_digest, s);
    }
  }
  return static_cast<size_t>(metrics_.insertions - before);
}

}  // namespace tlsession
