// Redis replies (RESP) and the reader that parses them: hiredis's reader,
// building RedisReply values directly and bounded so that a hostile reply
// cannot make it allocate at will. The byte bound of a whole reply is the
// caller's (RedisClient::Config::max_reply_bytes).
#ifndef TLSESSION_FLEET_REDIS_REPLY_H_
#define TLSESSION_FLEET_REDIS_REPLY_H_

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

// Parses |bytes| as a sequence of Redis replies (RESP) with the client's own
// reader and conversion, for tests and fuzzers. DataLoss on a protocol
// error; a trailing incomplete reply is left out.
absl::StatusOr<std::vector<RedisReply>> ParseRedisReplies(
    absl::string_view bytes);

// Returns a new hiredis reader that builds RedisReply objects and fails, as
// on a protocol error, on an array of more than 65,536 elements (hiredis's
// own reader would allocate whatever count a reply names, "*2000000000").
// The caller owns it and frees it with redisReaderFree (or hands it to a
// redisContext, which then does); null when out of memory.
redisReader* NewRedisReplyReader();

// Takes the next complete reply out of |reader| (made by
// NewRedisReplyReader, fed with redisReaderFeed) into |out|. Returns true
// when there was one, false when the reader needs more bytes, DataLoss
// ("protocol error: ...") on a malformed reply.
absl::StatusOr<bool> NextRedisReply(redisReader* reader, RedisReply* out);

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_REDIS_REPLY_H_
