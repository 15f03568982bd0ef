#include "fleet/redis_reply.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tlsession::fleet {
namespace {

// hiredis's reader builds RedisReply objects directly (its default objects
// would be copied), and refuses arrays beyond kMaxArrayElements: its default
// would allocate whatever element count a hostile reply names ("*2000000000").
constexpr int kMaxArrayElements = 1 << 16;

// A reply's node: a new root, or its slot in the parent array (sized when the
// parent was made, so slots never move).
RedisReply* NewNode(const redisReadTask* task) {
  if (task->parent == nullptr) return new RedisReply();
  auto* parent = static_cast<RedisReply*>(task->parent->obj);
  return &parent->elements[static_cast<size_t>(task->idx)];
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  RedisReply* r = NewNode(task);
  r->type = task->type == REDIS_REPLY_ERROR    ? RedisReply::Type::kError
            : task->type == REDIS_REPLY_STATUS ? RedisReply::Type::kStatus
                                               : RedisReply::Type::kString;
  r->str.assign(str, len);
  return r;
}

void* CreateArray(const redisReadTask* task, int elements) {
  if (elements < 0 || elements > kMaxArrayElements) return nullptr;  // OOM.
  RedisReply* r = NewNode(task);
  r->type = RedisReply::Type::kArray;
  r->elements.resize(static_cast<size_t>(elements));
  return r;
}

void* CreateInteger(const redisReadTask* task, long long value) {
  RedisReply* r = NewNode(task);
  r->type = RedisReply::Type::kInteger;
  r->integer = value;
  return r;
}

void* CreateNil(const redisReadTask* task) {
  RedisReply* r = NewNode(task);
  r->type = RedisReply::Type::kNil;
  return r;
}

// hiredis frees only roots (a partial reply on error, or the reader's).
void FreeObject(void* reply) { delete static_cast<RedisReply*>(reply); }

redisReplyObjectFunctions kReplyFunctions = {
    CreateString, CreateArray, CreateInteger, CreateNil, FreeObject};

}  // namespace

redisReader* NewRedisReplyReader() {
  return redisReaderCreateWithFunctions(&kReplyFunctions);
}

absl::StatusOr<bool> NextRedisReply(redisReader* reader, RedisReply* out) {
  void* raw = nullptr;
  if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
    return absl::DataLossError(
        absl::StrCat("protocol error: ", reader->errstr));
  }
  if (raw == nullptr) return false;
  std::unique_ptr<RedisReply> reply(static_cast<RedisReply*>(raw));
  *out = std::move(*reply);
  return true;
}

absl::StatusOr<std::vector<RedisReply>> ParseRedisReplies(
    absl::string_view bytes) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(
      NewRedisReplyReader(), redisReaderFree);
  if (reader == nullptr ||
      redisReaderFeed(reader.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    return absl::ResourceExhaustedError("redis reader: out of memory");
  }
  std::vector<RedisReply> replies;
  for (;;) {
    RedisReply reply;
    absl::StatusOr<bool> got = NextRedisReply(reader.get(), &reply);
    if (!got.ok()) return got.status();
    if (!*got) return replies;
    replies.push_back(std::move(reply));
  }
}

}  // namespace tlsession::fleet
