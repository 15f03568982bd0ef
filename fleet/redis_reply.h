// Redis replies (RESP) and the reader that parses them: hiredis's reader,
// building RedisReply values directly and bounded so that a hostile reply
// cannot make it allocate at will. The byte bound of a whole reply is the
// caller's (RedisClient::Config::max_reply_bytes).
#ifndef TLSESSION_FLEET_REDIS_REPLY_H_
#define TLSESSION_FLEET_REDIS_REPLY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// hiredis's reader (hiredis/read.h), kept out of this header.
struct redisReader;

namespace tlsession::fleet {

// A reply, copied out of hiredis's reply object.
struct RedisReply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError.
  long long integer = 0;
  std::vector<RedisReply> elements;  // kArray.

  // A nil bulk string (GET of a missing key, LPOP of an empty list).
  bool is_nil() const { return type == Type::kNil; }
  // A bulk string (a value).
  bool is_string() const { return type == Type::kString; }
};

// The reader's bounds against a hostile reply. hiredis allocates an array's
// element slots when it reads the array's header, before any element arrives,
// so the count a header names is charged at once: each reply's objects
// (every array's count x sizeof(RedisReply) slots, every string's bytes, the
// root node) are charged against one byte budget, |max_reply_bytes|, and the
// reply is refused (DataLoss "reply exceeds the reader's bound ...") the
// moment a header or string would take it past the budget. Nested
// "*65536\r\n*65536\r\n..." therefore costs at most the budget, not 65,536
// slots per level. An array also names at most kMaxRedisArrayElements
// elements. Together with the caller's bound on the bytes received (which
// bounds hiredis's own buffer), a reader holds at most about twice
// |max_reply_bytes| for a reply in progress.
inline constexpr int kMaxRedisArrayElements = 1 << 16;
// The budget of ParseRedisReplies and of NewRedisReplyReader's default.
inline constexpr size_t kDefaultMaxReplyBytes = size_t{1} << 20;

// Parses |bytes| as a sequence of Redis replies (RESP) with the client's own
// reader and conversion (each reply bounded by |max_reply_bytes| as
// described above), for tests and fuzzers. DataLoss on a protocol error or a
// reply past the bound; a trailing incomplete reply is left out.
absl::StatusOr<std::vector<RedisReply>> ParseRedisReplies(
    absl::string_view bytes, size_t max_reply_bytes = kDefaultMaxReplyBytes);

// Returns a new hiredis reader that builds RedisReply objects and refuses,
// as a protocol error, a reply past the bounds described above (hiredis's
// own reader would allocate whatever count a reply names, "*2000000000").
// The caller owns it and frees it with redisReaderFree (or hands it to a
// redisContext, which then does); null when out of memory. |max_reply_bytes|
// must be positive.
redisReader* NewRedisReplyReader(
    size_t max_reply_bytes = kDefaultMaxReplyBytes);

// Takes the next complete reply out of |reader| (made by
// NewRedisReplyReader, fed with redisReaderFeed) into |out|. Returns true
// when there was one, false when the reader needs more bytes, DataLoss
// ("protocol error: ..." or "reply exceeds the reader's bound of N bytes
// ...") on a malformed or oversized reply. When |charged| is not null and
// there was a reply, adds the bytes its objects were charged (see above) to
// |*charged|, so that a caller can bound a pipeline of replies.
absl::StatusOr<bool> NextRedisReply(redisReader* reader, RedisReply* out,
                                    size_t* charged = nullptr);

// The most bytes any one reply's objects were charged (see above), over
// every reader of the process since the last ResetRedisReplyPeakBytes,
// counting replies that were refused: what the bound promises, for tests.
size_t RedisReplyPeakBytes();
void ResetRedisReplyPeakBytes();

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_REDIS_REPLY_H_
