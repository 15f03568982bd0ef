// SessionLease: one session held for the exclusive use of one caller that
// must offer it on several connections (a "sticky" session: FTPS data
// connections resume their control connection's session, as vsftpd's
// require_ssl_reuse and ProFTPD demand).
//
// A leased single-use (TLS 1.3) session was taken out of its connection's
// sessions before they went back to the cache, so no other connection, in
// this process or any process sharing the cache's store, ever offers it. When
// the lease ends, the session is dropped: it was used. A reusable (TLS 1.2)
// session may be shared anyway; its lease is a plain copy.
#ifndef TLSESSION_SESSION_SESSION_LEASE_H_
#define TLSESSION_SESSION_SESSION_LEASE_H_

#include <utility>

#include "session/session.h"

namespace tlsession {

class SessionLease {
 public:
  // A lease on nothing.
  SessionLease() = default;
  // Leases |session|; the caller promises it is held nowhere else (see
  // ConnectionSessions::Lease, the one place leases are made).
  explicit SessionLease(Session session) : session_(std::move(session)) {}
  SessionLease(SessionLease&&) noexcept = default;
  SessionLease& operator=(SessionLease&&) noexcept = default;
  SessionLease(const SessionLease&) = delete;
  SessionLease& operator=(const SessionLease&) = delete;

  // The leased session; empty for a lease on nothing.
  const Session& session() const { return session_; }
  bool empty() const { return session_.empty(); }
  // True when the lease is exclusive: a single-use session no one else has.
  bool exclusive() const { return session_.is_single_use(); }

 private:
  Session session_;
};

}  // namespace tlsession

#endif  // TLSESSION_SESSION_SESSION_LEASE_H_
