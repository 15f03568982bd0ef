#include "session/connection_sessions.h"

#include <utility>

namespace tlsession {

ConnectionSessions::ConnectionSessions(
    std::shared_ptr<ClientSessionCache> cache, ClientSessionCache::Key key)
    : cache_(std::move(cache)), key_(std::move(key)) {}

ConnectionSessions::~ConnectionSessions() { EndUncleanly(); }

void ConnectionSessions::SetExplicit(const Session& session) {
  offered_ = session;
  origin_ = SessionOrigin::kExplicit;
}

void ConnectionSessions::SetLeased(const SessionLease& lease) {
  offered_ = lease.session();
  origin_ = SessionOrigin::kLease;
  Detach();
}

const Session& ConnectionSessions::ChooseOffer() {
  if (offer_chosen_) return offered_;
  offer_chosen_ = true;
  if (origin_ == SessionOrigin::kNone && cache_ != nullptr) {
    offered_ = cache_->Lookup(key_);
    if (!offered_.empty()) origin_ = SessionOrigin::kCache;
  }
  return offered_;
}

void ConnectionSessions::Received(const Session& session) {
  latest_ = session;
  ++received_count_;
  if (session.is_resumable() && end_ == SessionsEnd::kOpen) {
    held_.push_back(session);
  }
}

bool ConnectionSessions::Adopt(const Session& session) {
  if (!session.is_resumable() || cache_ == nullptr ||
      end_ != SessionsEnd::kOpen) {
    return false;
  }
  held_.push_back(session);
  return true;
}

SessionLease ConnectionSessions::Lease(bool resumed) {
  if (resumed && !offered_.empty() && !offered_.is_single_use()) {
    return SessionLease(offered_);
  }
  if (held_.empty()) return SessionLease();
  Session newest = held_.back();
  if (newest.is_single_use()) held_.pop_back();
  return SessionLease(std::move(newest));
}

void ConnectionSessions::GiveBackHeld() {
  if (end_ != SessionsEnd::kOpen) return;
  for (const Session& s : held_) {
    if (cache_ != nullptr) (void)cache_->Insert(key_, s);
  }
  held_.clear();
}

void ConnectionSessions::EndCleanly() {
  if (end_ != SessionsEnd::kOpen) return;
  end_ = SessionsEnd::kGivenBack;
  for (const Session& s : held_) {
    // A refusal (expired meanwhile, say) just means the session is dropped.
    if (cache_ != nullptr) (void)cache_->Insert(key_, s);
  }
  held_.clear();
}

void ConnectionSessions::EndUncleanly() {
  if (end_ != SessionsEnd::kOpen) return;
  end_ = SessionsEnd::kDropped;
  held_.clear();
}

}  // namespace tlsession
