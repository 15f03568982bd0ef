// Connection: one TLS connection over a connected TCP socket, with blocking
// I/O bounded by timeouts and the session API of CPython's ssl module.
//
//   auto conn = Connection::Connect(context, "example.org", 443);
//   Session s = (*conn)->session();            // after the handshake
//   ...
//   auto again = Connection::Connect(context, "example.org", 443, s);
//   bool resumed = (*again)->session_reused();
//
// A client connection's sessions have one owner, ConnectionSessions (see
// session/connection_sessions.h): it picks the session to offer (set
// explicitly, leased, or checked out of the Context's session cache), holds
// the sessions the server sends, and gives them to the cache only when the
// connection ends cleanly (close_notify, or ConfirmEndByProtocol()). The
// Connection just reports what happens.
//
// A Connection is used by one thread at a time, like a socket.
#ifndef TLSESSION_TLS_CONNECTION_H_
#define TLSESSION_TLS_CONNECTION_H_

#include <openssl/ssl.h>
#include <sys/time.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "session/connection_sessions.h"
#include "session/session.h"
#include "session/session_lease.h"
#include "tls/context.h"
#include "tls/socket.h"
#include "tls/socket_bio.h"
#include "tls/stream.h"

namespace tlsession {

// Where a Connection is in its life. Transitions only move forward:
// kNew -> kHandshaking -> kOpen -> kClosed; any state but kClosed -> kBroken.
enum class ConnectionState {
  kNew,          // Created; the handshake has not started.
  kHandshaking,  // The handshake has started.
  kOpen,         // The handshake completed; data flows.
  kClosed,       // Ended cleanly: close_notify, or a confirmed end.
  kBroken,       // A fatal error: the handshake failed, or the peer cut it.
};

// Returns |state|'s enumerator name ("kNew", "kHandshaking", ...).
absl::string_view ConnectionStateName(ConnectionState state);

// Returns OK when a Connection may move from |from| to |to| (the
// transitions above, or staying in |from|), else FailedPrecondition naming
// both states. A Connection checks every change of state with it, in every
// build mode.
absl::Status CheckConnectionStateChange(ConnectionState from,
                                        ConnectionState to);

// What became of the bytes a client gave HandshakeWithEarlyData.
enum class EarlyDataOutcome {
  kNone,        // No handshake with early data has run on this connection.
  kNotOffered,  // Not sent as early data: early_data off, or no offered
                // session allows it (see reason).
  kAccepted,    // The server accepted them as early data.
  kRejected,    // The server declined them (see reason); BoringSSL
                // discarded them and the handshake went on in 1-RTT.
};

// Returns |outcome|'s enumerator name ("kNone", "kAccepted", ...).
absl::string_view EarlyDataOutcomeName(EarlyDataOutcome outcome);

// What HandshakeWithEarlyData does with bytes that did not go as early data
// (kNotOffered, kRejected).
enum class UnsentEarlyData {
  kResend,  // Writes them once the handshake is done: sent exactly once.
  kReport,  // Leaves them unsent: the caller reads early_data() and decides.
};

// A client's report of its early data (Connection::early_data()).
struct EarlyDataResult {
  EarlyDataOutcome outcome = EarlyDataOutcome::kNone;
  // BoringSSL's reason (SSL_early_data_reason_string: "accepted",
  // "peer_declined", "unsupported_for_session", ...).
  std::string reason;
  // True when the bytes were written after the handshake (kResend).
  bool sent_after_handshake = false;
};

class Connection : public Stream {
 public:
  // Wraps the connected socket |fd| (ownership taken). For a client, |host|
  // is the server's name as the user gave it: it is sent as SNI (unless it is
  // an IP literal) and the certificate must match it. For a server, |host| is
  // only used in messages. No handshake happens yet: see Handshake().
  static absl::StatusOr<std::unique_ptr<Connection>> Create(
      std::shared_ptr<const Context> context, OwnedFd fd, std::string host);

  // Like Create, over a BIO the caller drives (a BIO pair, memory BIOs):
  // takes ownership of one reference to |bio|, used for reading and writing.
  // Blocking calls cannot wait on such a transport: use HandshakeStep(),
  // and Read/Write return Unavailable ("would block") when the peer's bytes
  // are not there yet.
  static absl::StatusOr<std::unique_ptr<Connection>> CreateOverBio(
      std::shared_ptr<const Context> context, bssl::UniquePtr<BIO> bio,
      std::string host);

  // Client convenience: TCP connect to |host|:|port|, offer |session| if it
  // is not empty, and handshake, all within the Context's io_timeout.
  static absl::StatusOr<std::unique_ptr<Connection>> Connect(
      std::shared_ptr<const Context> context, const std::string& host,
      uint16_t port, const Session& session = Session());

  // Client convenience with 0-RTT: TCP connect to |host|:|port|, offer
  // |session| (or the cache's), and HandshakeWithEarlyData(|early_data|,
  // |unsent|), all within the Context's io_timeout. The outcome is in
  // early_data().
  static absl::StatusOr<std::unique_ptr<Connection>> ConnectWithEarlyData(
      std::shared_ptr<const Context> context, const std::string& host,
      uint16_t port, absl::string_view early_data,
      UnsentEarlyData unsent = UnsentEarlyData::kResend,
      const Session& session = Session());

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Offers |session| on the next handshake. Fails on a server-side
  // connection, after the handshake, and when |session| was made under a
  // Context of another identity. An empty |session| clears the offer.
  absl::Status set_session(const Session& session);

  // Servers, before the handshake: gives this connection a random
  // session-ID context of its own, so that its sessions (IDs and tickets
  // alike) resume only on connections that share it (ShareSessionsWith).
  // This is how an FTPS server ties data connections to their control
  // connection (vsftpd's require_ssl_reuse).
  absl::Status IsolateSessions();

  // Servers, before the handshake: resume only sessions of |control| (which
  // called IsolateSessions()), or of earlier connections that shared them.
  // After the handshake, session_reused() tells whether the client did; a
  // server that requires reuse refuses the connection otherwise.
  absl::Status ShareSessionsWith(const Connection& control);

  // Runs the handshake. A client whose Context has a session cache and that
  // was given no session by set_session() offers the cache's session for this
  // peer. Errors carry BoringSSL's reason, the verification result and the
  // peer's name.
  absl::Status Handshake();

  // Clients, before the handshake: runs it, sending |data| as 0-RTT early
  // data when ContextOptions::early_data is on and the offered session (set,
  // leased or the cache's) allows it; the server may process it before the
  // handshake completes, and an attacker may replay it to a server that
  // keeps no single-use record (see README). Bytes that did not go as early
  // data (not offered, or rejected by the server, whose reason early_data()
  // reports) are written after the handshake under kResend, or left unsent
  // under kReport; never lost without a report, never sent twice. A server
  // that negotiates TLS 1.2 on a 0-RTT attempt fails the connection
  // (BoringSSL's WRONG_VERSION_ON_EARLY_DATA): nothing was delivered;
  // connect again. Errors as Handshake()'s and Write()'s; after an error
  // the early bytes may or may not have reached the server (it may have
  // accepted them before the connection failed): a caller that sends them
  // again on a new connection must only send what is safe to run twice.
  absl::Status HandshakeWithEarlyData(
      absl::string_view data,
      UnsentEarlyData unsent = UnsentEarlyData::kResend);

  // Clients: the outcome of HandshakeWithEarlyData (kNone before or without
  // it).
  const EarlyDataResult& early_data() const { return early_result_; }

  // Servers: true when this connection accepted early data.
  bool early_data_accepted() const;
  // Servers: true while the client's handshake is unconfirmed (its
  // Finished not read yet): bytes Read() returns now are early data.
  bool in_early_data() const;
  // Servers: how many of the bytes Read() has returned arrived as early data:
  // always the first ones of the stream, before any 1-RTT byte. An
  // application refuses to act on them when its request is not idempotent
  // (RFC 8470's 425 Too Early) until in_early_data() turns false.
  uint64_t early_bytes_read() const { return early_bytes_read_; }
  // Either side: why early data was or was not used. The server's single-use
  // check speaks first ("ticket already used for 0-RTT", "single-use check
  // failed: ..."), then BoringSSL's reason string. Empty before a handshake.
  std::string early_data_reason() const;

  // One non-blocking handshake step for event-driven use: true once the
  // handshake is complete, false while it waits for the peer.
  absl::StatusOr<bool> HandshakeStep();

  // Reads up to |len| bytes. Returns 0 only when the peer closed cleanly with
  // close_notify; a connection that ends without one is an error (the data
  // may have been truncated), and so is the peer's close_notify read after
  // this connection broke (FailedPrecondition: kBroken never becomes
  // kClosed).
  absl::StatusOr<size_t> Read(void* buf, size_t len) override;

  // Writes all of |data|.
  absl::Status Write(absl::string_view data) override;

  // Sends close_notify and waits, up to the timeout, for the peer's,
  // discarding application data and processing tickets that arrive first;
  // then the connection has ended cleanly (its sessions go to the cache).
  // Idempotent. Fails on a connection that already failed.
  absl::Status Shutdown() override;

  // True when Read() would not wait for the network: decrypted bytes are
  // buffered, or records already on the socket hold application data, the
  // peer's close_notify or an error (post-handshake messages among them,
  // such as TLS 1.3 tickets, are processed on the way). False before the
  // handshake. Never waits.
  bool HasBufferedInput() override;

  // Sends close_notify without waiting for the peer's.
  absl::Status SendCloseNotify();

  // The current session. Empty before the handshake. After it, the newest
  // session the connection received: under TLS 1.3 the server's tickets come
  // after the handshake, so the session right after Handshake() may not be
  // resumable yet; see WaitForSession(). A server-side connection reports the
  // session it established or resumed.
  Session session() const;

  // Returns a resumable session, reading pending post-handshake messages
  // (TLS 1.3 NewSessionTicket) for up to |max_wait| if none has arrived yet.
  // Application data that arrives meanwhile stays buffered for Read().
  // DeadlineExceeded if the server sent no ticket in time.
  absl::StatusOr<Session> WaitForSession(absl::Duration max_wait);

  // Reads, without blocking, post-handshake messages (tickets) that are
  // already waiting on the socket. Application data stays buffered. The
  // peer's close_notify ends the connection cleanly, as in Read().
  absl::Status ProcessPendingMessages();

  // The session this client offered on its handshake (set_session(), a
  // lease, or the cache's), or an empty Session; and where it came from.
  const Session& offered_session() const;
  SessionOrigin offered_origin() const;

  // Clients: leases a session of this connection for offering on several
  // later connections to the same server (a sticky session: FTPS data
  // connections resuming their control connection's, for example). Under
  // TLS 1.3 waits up to |max_wait| for the server's ticket; a leased ticket
  // never reaches the cache (see session_lease.h). Under TLS 1.2, the
  // session this handshake resumed, or else the one it established.
  // FailedPrecondition when the server granted no resumable session.
  absl::StatusOr<SessionLease> LeaseSession(absl::Duration max_wait);

  // Clients, after the handshake: holds |session|, which another
  // connection received while offering this connection's lease (an FTPS
  // data connection's TLS 1.3 ticket), as this connection's own: it reaches
  // the cache, under this connection's key, only if this connection ends
  // cleanly. A resumed TLS 1.3 connection receives one ticket, which its
  // lease takes; this keeps the next run resumable. Returns true when held;
  // false for a session not resumable, of another Context, or when this
  // connection is detached from its cache or has ended.
  bool AdoptSession(const Session& session);

  // Clients, before the handshake: offers |lease|'s session. This
  // connection then neither takes a session from the cache nor gives its own
  // back: they descend from a session the cache never held.
  absl::Status OfferLease(const SessionLease& lease);

  // Clients, before the handshake: this connection takes no session from
  // the Context's cache and gives none back (its sessions belong to another
  // connection's conversation, as FTPS data connections' do).
  absl::Status DetachFromCache();

  // Says that the application protocol itself confirmed the end of the
  // conversation over this connection (for example FTP's 221 reply to QUIT,
  // read over TLS): a peer that then drops TCP without close_notify
  // truncated nothing, so the connection counts as cleanly ended and its
  // sessions go to the cache.
  void ConfirmEndByProtocol();

  // Clients, on an open connection: says that the application protocol
  // vouched for everything read so far (a complete, expected reply read
  // after the tickets), so the sessions received so far go to the cache
  // now while the connection stays open: for long-lived connections (a
  // pool's, such as fleet/'s Redis links) whose end may never be clean.
  // Later sessions are held until the end as before. Does nothing in any
  // other state.
  void ConfirmSessionsSoFar();

  ConnectionState state() const { return state_; }
  // True once the connection ended cleanly (kClosed).
  bool closed_cleanly() const { return state_ == ConnectionState::kClosed; }

  // True exactly when the handshake resumed a session.
  bool session_reused() const;
  bool handshake_complete() const;
  // The number of sessions (TLS 1.3 tickets) received so far.
  int sessions_received() const;

  // Negotiated parameters, valid after the handshake.
  uint16_t version() const;           // e.g. TLS1_3_VERSION
  std::string version_name() const;   // e.g. "TLSv1.3"
  std::string cipher_name() const;    // IETF name
  std::string alpn_protocol() const;  // "" when none
  std::string server_name() const;    // server side: the SNI received
  bssl::UniquePtr<X509> peer_certificate() const;

  // Timeout for each blocking operation; defaults to the Context's.
  void set_timeout(absl::Duration timeout) override { timeout_ = timeout; }
  absl::Duration timeout() const { return timeout_; }

  // Bytes this connection has moved on the wire (TLS records included).
  const WireCounters& wire() const { return wire_; }

  // "host:port" of the peer, for messages.
  const std::string& peer_name() const override { return peer_name_; }
  int fd() const override { return fd_.get(); }
  // The BoringSSL connection, still owned by this Connection. Calls made on
  // it directly bypass the Connection: sessions they deliver never reach
  // session() or the cache.
  SSL* ssl() const { return ssl_.get(); }
  const std::shared_ptr<const Context>& context() const { return context_; }

  // BoringSSL's new-session callback, installed on client contexts. It takes
  // |session| for the Connection whose own call (handshake, read, write,
  // shutdown) is running on this thread; for any other SSL it returns 0 and
  // BoringSSL keeps the reference.
  static int NewSessionCallback(SSL* ssl, SSL_SESSION* session);

  // BoringSSL's current-time callback, installed on every Context's SSL_CTX.
  // BoringSSL passes no connection (|ssl| is always null), so it sets
  // |*out_clock| from the clock (ContextOptions::clock) of the Context of
  // the Connection whose own call (handshake, read, write, shutdown) is
  // running on this thread, or from CoarseNow() outside such a call (a
  // caller driving ssl_ctx() itself). Times before the Unix epoch read as
  // the epoch.
  static void CurrentTimeCallback(const SSL* ssl, timeval* out_clock);

  // BoringSSL's select-certificate callback, installed on server contexts
  // with early_data: when the ClientHello offers early data, runs the
  // single-use check (ServerSessionStore::ClaimEarlyData) on the SHA-256 of
  // the first PSK identity (the ticket), and turns early data off for this
  // connection unless the check returns OK. Never fails the handshake.
  static ssl_select_cert_result_t EarlyDataGate(const SSL_CLIENT_HELLO* hello);

  // BoringSSL's DoS-protection callback, installed with EarlyDataGate: runs
  // once the resumption and 0-RTT decisions are made, and turns early data
  // back on so that the tickets this connection issues allow it (a
  // connection whose early data the gate refused still issues good
  // tickets). Always returns 1.
  static int EarlyDataTicketsCallback(const SSL_CLIENT_HELLO* hello);

 private:
  Connection(std::shared_ptr<const Context> context, OwnedFd fd,
             bssl::UniquePtr<SSL> ssl, std::string host, std::string peer_name);

  static absl::StatusOr<std::unique_ptr<Connection>> CreateInternal(
      std::shared_ptr<const Context> context, OwnedFd fd,
      bssl::UniquePtr<BIO> bio, std::string host);
  // Client connections: SNI and the name to verify.
  static absl::Status SetUpClient(const Context& context,
                                  const std::string& name, SSL* ssl);
  // Enters kHandshaking and offers the chosen session, once, at the start
  // of the handshake; does nothing after that. Returns the error of an
  // invalid state change.
  absl::Status StartHandshake();
  // Servers under TLS 1.3: sends the queued tickets now.
  absl::Status FlushTickets();
  // Moves to |next| when CheckConnectionStateChange allows it; otherwise
  // changes nothing and returns its FailedPrecondition error.
  absl::Status Enter(ConnectionState next);
  // Records a clean end: enters kClosed and gives the sessions to the cache.
  // Returns the error of an invalid state change (a connection that already
  // broke cannot end cleanly), giving nothing to the cache.
  absl::Status EndCleanly();

  // How Drive waits when BoringSSL wants the socket.
  enum class Wait { kUntilDeadline, kNever };
  // Drive's result when Wait::kNever and BoringSSL wants the socket.
  static constexpr int kWouldBlock = -1;
  // The one driver: runs |op| (an SSL_* call, >0 on success) until it
  // succeeds (its value), the peer's close_notify ends it (0), or it fails
  // (an error, which breaks the connection). Waits on the socket as BoringSSL
  // asks until |deadline|, or returns kWouldBlock under Wait::kNever.
  template <typename Op>
  absl::StatusOr<int> Drive(Op op, absl::string_view what, absl::Time deadline,
                            Wait wait = Wait::kUntilDeadline);
  // Drive for callers outside connection.cc (the template lives there).
  absl::StatusOr<int> DriveCall(absl::FunctionRef<int()> op,
                                absl::string_view what, absl::Time deadline);
  absl::Status Failure(absl::string_view what, int ssl_error, int ret);
  // Drive's result when the server rejected the client's early data
  // (SSL_ERROR_EARLY_DATA_REJECTED); the connection is not broken.
  static constexpr int kEarlyDataRejected = -2;
  // The Connection whose SSL call runs on this thread, or null.
  static Connection* Driving();
  // HandshakeWithEarlyData's steps: the handshake up to where early data
  // may be written (true when it may); writing |data| as early data and
  // completing the handshake (true when the server accepted it).
  absl::StatusOr<bool> StartEarlyHandshake(absl::Time deadline);
  absl::StatusOr<bool> WriteEarlyAndFinish(absl::string_view data,
                                           absl::Time deadline);
  // Drives SSL_do_handshake to its end (kEarlyDataRejected passes through).
  absl::StatusOr<int> DriveHandshake(absl::Time deadline);

  // Peeks one byte without waiting: processes post-handshake messages;
  // >0 when application data is buffered, 0 on close_notify, kWouldBlock.
  absl::StatusOr<int> PeekPending();

  const std::shared_ptr<const Context> context_;
  OwnedFd fd_;
  bssl::UniquePtr<SSL> ssl_;
  const std::string host_;
  const std::string peer_name_;
  absl::Duration timeout_;
  WireCounters wire_;
  ConnectionState state_ = ConnectionState::kNew;
  // Clients: the sessions' owner. Empty for servers.
  std::optional<ConnectionSessions> sessions_;
  std::string isolated_sid_ctx_;   // Servers: set by IsolateSessions().
  EarlyDataResult early_result_;   // Clients: HandshakeWithEarlyData's.
  uint64_t early_bytes_read_ = 0;  // Servers: see early_bytes_read().
  // Servers: the single-use check's error, when it refused early data.
  absl::Status early_data_check_;
};

}  // namespace tlsession

#endif  // TLSESSION_TLS_CONNECTION_H_
