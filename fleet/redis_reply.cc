#include "fleet/redis_reply.h"

#include <hiredis/hiredis.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tlsession::fleet {
namespace {

// hiredis's reader builds RedisReply objects directly (its default objects
// would be copied). Each reply's root is a Root, which carries the reply's
// budget (redis_reply.h): every allocation the reply makes is charged to it
// first, and refused (null: hiredis's "Out of memory") past the budget.
struct Root {
  RedisReply reply;
  size_t limit = 0;    // The reader's max_reply_bytes.
  size_t charged = 0;  // Bytes charged so far, never above |limit|.
};

// The most any one reply was charged (RedisReplyPeakBytes).
std::atomic<size_t> peak_bytes{0};

// Raises peak_bytes to |charged| if it is below.
void NotePeak(size_t charged) {
  size_t seen = peak_bytes.load(std::memory_order_relaxed);
  while (seen < charged && !peak_bytes.compare_exchange_weak(
                               seen, charged, std::memory_order_relaxed)) {
  }
}

// Charges |cost| bytes to |root|; false (nothing charged) past its limit.
bool Charge(Root* root, size_t cost) {
  if (cost > root->limit - root->charged) return false;
  root->charged += cost;
  NotePeak(root->charged);
  return true;
}

// The Root of the reply that |task| belongs to (its top task's object), or
// null for a reply's first task, whose object is not made yet.
Root* RootOf(const redisReadTask* task) {
  while (task->parent != nullptr) task = task->parent;
  return static_cast<Root*>(task->obj);
}

// A reply's node: |reply| to fill in, |obj| what hiredis holds for it (a
// root's Root, a child's slot); both null past the budget.
struct Node {
  RedisReply* reply = nullptr;
  void* obj = nullptr;
};

// Makes |task|'s node, charged |cost| bytes besides: a new Root (which is
// charged its own size too) for a reply's first task, else the task's slot
// in its parent array (sized and charged when the parent was made, so slots
// never move).
Node NewNode(const redisReadTask* task, size_t cost) {
  if (task->parent == nullptr) {
    auto root = std::make_unique<Root>();
    const auto limit = reinterpret_cast<uintptr_t>(task->privdata);
    root->limit = limit == 0 ? kDefaultMaxReplyBytes : limit;
    if (!Charge(root.get(), sizeof(Root) + cost)) return {};
    Root* r = root.release();
    return {&r->reply, r};
  }
  if (!Charge(RootOf(task), cost)) return {};
  const redisReadTask* parent = task->parent;
  RedisReply* array = parent->parent == nullptr
                          ? &static_cast<Root*>(parent->obj)->reply
                          : static_cast<RedisReply*>(parent->obj);
  RedisReply* slot = &array->elements[static_cast<size_t>(task->idx)];
  return {slot, slot};
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  Node n = NewNode(task, len);
  if (n.reply == nullptr) return nullptr;
  n.reply->type = task->type == REDIS_REPLY_ERROR ? RedisReply::Type::kError
                  : task->type == REDIS_REPLY_STATUS
                      ? RedisReply::Type::kStatus
                      : RedisReply::Type::kString;
  n.reply->str.assign(str, len);
  return n.obj;
}

void* CreateArray(const redisReadTask* task, int elements) {
  if (elements < 0 || elements > kMaxRedisArrayElements) return nullptr;
  const size_t count = static_cast<size_t>(elements);
  Node n = NewNode(task, count * sizeof(RedisReply));
  if (n.reply == nullptr) return nullptr;
  n.reply->type = RedisReply::Type::kArray;
  n.reply->elements.resize(count);
  return n.obj;
}

void* CreateInteger(const redisReadTask* task, long long value) {
  Node n = NewNode(task, 0);
  if (n.reply == nullptr) return nullptr;
  n.reply->type = RedisReply::Type::kInteger;
  n.reply->integer = value;
  return n.obj;
}

void* CreateNil(const redisReadTask* task) {
  Node n = NewNode(task, 0);
  if (n.reply == nullptr) return nullptr;
  n.reply->type = RedisReply::Type::kNil;
  return n.obj;
}

// hiredis frees only roots (a partial reply on error, or the reader's).
void FreeObject(void* reply) { delete static_cast<Root*>(reply); }

redisReplyObjectFunctions kReplyFunctions = {
    CreateString, CreateArray, CreateInteger, CreateNil, FreeObject};

}  // namespace

redisReader* NewRedisReplyReader(size_t max_reply_bytes) {
  redisReader* reader = redisReaderCreateWithFunctions(&kReplyFunctions);
  // The budget travels to every task as hiredis's privdata (a number, not a
  // pointer: nothing to free).
  if (reader != nullptr) {
    reader->privdata =
        reinterpret_cast<void*>(static_cast<uintptr_t>(max_reply_bytes));
  }
  return reader;
}

size_t RedisReplyPeakBytes() {
  return peak_bytes.load(std::memory_order_relaxed);
}

void ResetRedisReplyPeakBytes() {
  peak_bytes.store(0, std::memory_order_relaxed);
}

absl::StatusOr<bool> NextRedisReply(redisReader* reader, RedisReply* out,
                                    size_t* charged) {
  void* raw = nullptr;
  if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
    // Our functions return null only past a bound (operator new throws), and
    // hiredis reports that as out of memory.
    if (reader->err == REDIS_ERR_OOM) {
      return absl::DataLossError(
          absl::StrCat("reply exceeds the reader's bound of ",
                       reinterpret_cast<uintptr_t>(reader->privdata),
                       " bytes (max_reply_bytes: array slots and strings) or ",
                       kMaxRedisArrayElements, " elements per array"));
    }
    return absl::DataLossError(
        absl::StrCat("protocol error: ", reader->errstr));
  }
  if (raw == nullptr) return false;
  std::unique_ptr<Root> root(static_cast<Root*>(raw));
  if (charged != nullptr) *charged += root->charged;
  *out = std::move(root->reply);
  return true;
}

absl::StatusOr<std::vector<RedisReply>> ParseRedisReplies(
    absl::string_view bytes, size_t max_reply_bytes) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(
      NewRedisReplyReader(max_reply_bytes), redisReaderFree);
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
