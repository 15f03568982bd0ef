// LruMap: a map bounded by a count of entries that drops the least recently
// used one when full. One utility for the client and server session stores.
//
// Not thread-safe: its owner guards it (the stores hold it under their own
// mutex). Keys are strings; values any movable type.
#ifndef TLSESSION_BASE_LRU_MAP_H_
#define TLSESSION_BASE_LRU_MAP_H_

#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace tlsession {

template <typename Value>
class LruMap {
 public:
  // |max_entries| bounds the map; zero holds nothing.
  explicit LruMap(size_t max_entries) : max_entries_(max_entries) {}
  LruMap(const LruMap&) = delete;
  LruMap& operator=(const LruMap&) = delete;

  // The value under |key|, marked most recently used; null when absent. The
  // pointer is valid until the next call that changes the map.
  Value* Find(absl::string_view key) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second.position);
    return &it->second.value;
  }

  // The value under |key| without marking it used; null when absent.
  const Value* Peek(absl::string_view key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.value;
  }

  // The value under |key|, created (default-constructed) when absent, marked
  // most recently used. Creating may evict the least recently used entries;
  // |on_evict| (when set) sees each before it goes. Null only when the map
  // holds nothing (max_entries is zero).
  Value* FindOrCreate(absl::string_view key,
                      const std::function<void(Value&)>& on_evict = {}) {
    if (Value* found = Find(key)) return found;
    if (max_entries_ == 0) return nullptr;
    while (map_.size() >= max_entries_) {
      auto victim = map_.find(order_.back());
      if (on_evict) on_evict(victim->second.value);
      map_.erase(victim);
      order_.pop_back();
    }
    order_.emplace_front(key);
    auto [it, inserted] = map_.try_emplace(order_.front());
    it->second.position = order_.begin();
    return &it->second.value;
  }

  // Forgets |key|; false when it was absent.
  bool Erase(absl::string_view key) {
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    order_.erase(it->second.position);
    map_.erase(it);
    return true;
  }

  // Forgets every entry for which |pred(key, value)| is true.
  // |pred| may change the value (to wipe it, say) before it goes.
  void EraseIf(const std::function<bool(const std::string&, Value&)>& pred) {
    for (auto it = order_.begin(); it != order_.end();) {
      auto entry = map_.find(*it);
      if (pred(*it, entry->second.value)) {
        map_.erase(entry);
        it = order_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Visits every entry, least recently used first.
  void ForEachOldestFirst(
      const std::function<void(const std::string&, const Value&)>& visit)
      const {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      visit(*it, map_.find(*it)->second.value);
    }
  }

  void Clear() {
    map_.clear();
    order_.clear();
  }
  size_t size() const { return map_.size(); }
  size_t max_entries() const { return max_entries_; }

 private:
  struct Slot {
    Value value;
    std::list<std::string>::iterator position;  // In order_.
  };
  const size_t max_entries_;
  absl::flat_hash_map<std::string, Slot> map_;
  std::list<std::string> order_;  // Keys, most recently used first.
};

}  // namespace tlsession

#endif  // TLSESSION_BASE_LRU_MAP_H_
