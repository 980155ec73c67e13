// What every squish kernel that calls oneDNN shares: the CPU engine (made once, after SQUISH_ISA's
// cap is applied, since oneDNN fixes its ISA when the first primitive is made), a stream per thread,
// and a small LRU cache of compiled primitives (matmuls per packed weight, eltwise ops by size).
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <utility>

#include <oneapi/dnnl/dnnl.hpp>

namespace squish {

dnnl::engine& cpu_engine();
// oneDNN streams are cheap but not free; one per thread keeps concurrent callers apart.
dnnl::stream& thread_stream();

// At most `capacity` primitives, least recently used first out: length bucketing gives most batches
// their own M, and oneDNN's fast matmul needs M fixed when the primitive is made (a run-time M sends
// it to its reference kernel), so an unbounded cache grew by one primitive per M in every Linear.
// A handful of entries: a linear search beats a map.
template <class Key, class Primitive = dnnl::matmul>
class PrimitiveCache {
 public:
  explicit PrimitiveCache(size_t capacity) : capacity_(capacity) {}

  Primitive get(const Key& key, const std::function<Primitive()>& make) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first != key) continue;
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front().second;
    }
    entries_.emplace_front(key, make());
    if (entries_.size() > capacity_) entries_.pop_back();
    return entries_.front().second;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }

 private:
  size_t capacity_;
  mutable std::mutex mutex_;
  std::list<std::pair<Key, Primitive>> entries_;  // most recently used first
};

}  // namespace squish
