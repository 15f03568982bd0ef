// RedisLink: one connection to one Redis node (a server or a Sentinel), in
// clear or under this library's own TLS (tls::Connection, whose client
// session cache resumes the next link's handshake), with the bounded reply
// reader of redis_reply.h. RedisClient pools them; every call takes a
// deadline and never waits past it.
//
// Errors: DeadlineExceeded when the deadline passed, Aborted for anything
// that broke the link (refused, reset, closed, a failed TLS handshake, with
// BoringSSL's reason), DataLoss for a malformed or oversized reply. Each
// names the node ("redis 127.0.0.1:6379: ...").
//
// Used by one thread at a time.
#ifndef TLSESSION_FLEET_REDIS_LINK_H_
#define TLSESSION_FLEET_REDIS_LINK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fleet/redis_reply.h"
#include "tls/connection.h"
#include "tls/context.h"
#include "tls/stream.h"

namespace tlsession::fleet {

class RedisLink {
 public:
  struct Options {
    // The node's name as the user or a Sentinel gave it: the TLS
    // verification name (SNI unless an IP literal), and the messages'.
    std::string host;
    // Where to connect: |host| resolved (an IP literal), or empty to
    // resolve |host| now.
    std::string ip;
    uint16_t port = 0;
    // A client Context for TLS (its session cache resumes links); null for
    // plaintext.
    std::shared_ptr<const Context> tls;
    // The bound of the replies of one round trip (RedisClient::Config).
    size_t max_reply_bytes = kDefaultMaxReplyBytes;
  };

  // Connects over TCP and, with |options.tls|, runs the TLS handshake
  // (offering a session from the Context's cache), all by |deadline|.
  static absl::StatusOr<std::unique_ptr<RedisLink>> Open(Options options,
                                                         absl::Time deadline);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Sends |commands| (binary-safe arguments) in one write and reads their
  // replies (error replies included, as kError replies), by |deadline|.
  // |*received| counts the reply bytes read, also when it fails (zero means
  // the node sent nothing back). On TLS links a complete round trip vouches
  // for the tickets received before it: they go to the session cache
  // (Connection::ConfirmSessionsSoFar). The request buffer is wiped after
  // sending (it may hold AUTH's password).
  absl::StatusOr<std::vector<RedisReply>> RoundTrip(
      const std::vector<std::vector<std::string>>& commands,
      absl::Time deadline, size_t* received);

  // True for a TLS link, and when its handshake resumed a session.
  bool tls() const { return tls_ != nullptr; }
  bool tls_resumed() const;
  // "host:port", for messages.
  const std::string& address() const { return address_; }

 private:
  RedisLink(std::unique_ptr<Stream> stream, Connection* tls,
            std::string address, size_t max_reply_bytes);
  // Reads replies until |count| are in |replies|, by |deadline|.
  absl::Status ReadReplies(size_t count, absl::Time deadline,
                           std::vector<RedisReply>* replies, size_t* received);
  // Sets the stream's timeout to what is left before |deadline|;
  // DeadlineExceeded naming |what| when nothing is.
  absl::Status ArmTimeout(absl::Time deadline, absl::string_view what);
  // |status| of a stream call as a link error (see the file comment).
  absl::Status LinkError(const absl::Status& status,
                         absl::string_view what) const;

  std::unique_ptr<Stream> stream_;
  Connection* tls_;  // |stream_| itself when TLS, else null; not owned.
  const std::string address_;
  const size_t max_reply_bytes_;
  struct ReaderFree {
    void operator()(redisReader* r) const;
  };
  std::unique_ptr<redisReader, ReaderFree> reader_;
};

// Appends one command in Redis's protocol (RESP) to |out|.
void AppendRedisCommand(const std::vector<std::string>& args, std::string* out);

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_REDIS_LINK_H_
