// ConnectionSessions: the sessions of one client connection, from the offer
// before its handshake to its end: the offer (set, leased or from the
// cache), what the peer sends (held, not cached), the give-back on a clean
// end, leases, and adopting a leased session's descendant. tls/'s
// Connection owns one and reports events to it; the rules are in
// ARCHITECTURE.md, "A client session's path". Not thread-safe: used by the
// one thread that uses its connection.
#ifndef TLSESSION_SESSION_CONNECTION_SESSIONS_H_
#define TLSESSION_SESSION_CONNECTION_SESSIONS_H_

#include <memory>
#include <vector>

#include "session/client_session_cache.h"
#include "session/session.h"
#include "session/session_lease.h"

namespace tlsession {

// Where the session a connection offered came from.
enum class SessionOrigin { kNone, kExplicit, kCache, kLease };

// How the connection's sessions ended up.
enum class SessionsEnd {
  kOpen,       // The connection has not ended.
  kGivenBack,  // Ended cleanly: held sessions went to the cache.
  kDropped,    // Ended otherwise: held sessions were dropped.
};

class ConnectionSessions {
 public:
  // |cache| may be null: nothing is then taken from or given to a cache.
  ConnectionSessions(std::shared_ptr<ClientSessionCache> cache,
                     ClientSessionCache::Key key);
  ConnectionSessions(const ConnectionSessions&) = delete;
  ConnectionSessions& operator=(const ConnectionSessions&) = delete;
  // Drops held sessions that were not given back.
  ~ConnectionSessions();

  // Before the handshake: offer |session| (empty: offer nothing and take
  // nothing from the cache).
  void SetExplicit(const Session& session);
  // Before the handshake: offer |lease|'s session; this connection then
  // neither takes from nor gives to the cache (see Detach).
  void SetLeased(const SessionLease& lease);
  // From now on, takes nothing from the cache and gives nothing back: for
  // connections whose sessions belong to another (FTPS data connections,
  // on ports of their own).
  void Detach() { cache_ = nullptr; }
  // At the start of the handshake, once: the session to offer (empty for
  // none), checked out of the cache when nothing was set.
  const Session& ChooseOffer();

  const Session& offered() const { return offered_; }
  SessionOrigin origin() const { return origin_; }

  // The peer sent |session|. Resumable ones are held until the end.
  void Received(const Session& session);
  // The newest session received (resumable or not); empty before any.
  const Session& latest() const { return latest_; }
  int received_count() const { return received_count_; }

  // Holds |session|, received on another connection that offered this
  // connection's lease (an FTPS data connection's ticket), as if the peer
  // had sent it here: it goes to the cache on a clean end, under this
  // connection's key. Ignored unless resumable, attached to a cache and
  // still open. Returns true when it was held.
  bool Adopt(const Session& session);

  // Leases the session to offer on later connections to the same peer:
  // when |resumed| and the offered session is reusable, that one (servers
  // such as ProFTPD compare it with the data connections' offers); else the
  // newest held resumable session, which leaves the held ones when it is
  // single-use. A lease on nothing when none is held.
  SessionLease Lease(bool resumed);

  // The application protocol vouched for everything received so far while
  // the connection goes on (a long-lived connection, such as a pooled Redis
  // one, read a complete reply after the sessions): gives the sessions held
  // so far to the cache now; later ones are held until the end as before.
  // Does nothing once the connection ended.
  void GiveBackHeld();
  // The connection ended cleanly: gives held sessions to the cache, once.
  void EndCleanly();
  // The connection ended otherwise: drops held sessions, once.
  void EndUncleanly();
  SessionsEnd end() const { return end_; }

 private:
  std::shared_ptr<ClientSessionCache> cache_;  // Null once detached.
  const ClientSessionCache::Key key_;
  Session offered_;
  SessionOrigin origin_ = SessionOrigin::kNone;
  bool offer_chosen_ = false;
  Session latest_;
  int received_count_ = 0;
  std::vector<Session> held_;  // Resumable sessions received, oldest first.
  SessionsEnd end_ = SessionsEnd::kOpen;
};

}  // namespace tlsession

#endif  // TLSESSION_SESSION_CONNECTION_SESSIONS_H_
