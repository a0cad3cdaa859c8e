#include "core/cpu_allocator.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "core/error.h"

namespace iapt {

namespace {

constexpr size_t kAlign = 64;


struct Cache {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_blocks;
  AllocatorStats stats;
  size_t limit = 0;
  bool limit_set = false;

  void ensure_limit() {
    if (limit_set) return;
    // A quarter of the machine's memory, at least 1 GiB: a training step's activations fit, so the
    // second step faults in no fresh pages.
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    limit = std::max(size_t{1} << 30, pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 4 : 0);
    if (const char* env = std::getenv("IAPT_CPU_CACHE_MB")) limit = static_cast<size_t>(std::atoll(env)) << 20;
    limit_set = true;
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: tensors may be freed during static destruction
  return *c;
}

}  // namespace

size_t allocation_bucket(size_t bytes, size_t granule) {
  // beyond 2^62 bytes the doubling below would overflow; no machine has that much (a negative size
  // cast to size_t lands here)
  IAPT_CHECK(bytes <= kMaxAllocationBytes, "cannot allocate {} bytes: more than 2^62 (a negative or overflowed size?)",
             bytes);
  if (bytes <= 4096) return bytes == 0 ? granule : (bytes + granule - 1) / granule * granule;
  size_t p = 4096;
  while (p < bytes) {
    if (p + p / 2 >= bytes) return p + p / 2;
    p *= 2;
  }
  return p;
}

void* cpu_allocate(size_t bytes, size_t* rounded_bytes) {
  const size_t size = allocation_bucket(bytes, kAlign);
  *rounded_bytes = size;
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.ensure_limit();
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= size;
      c.stats.live_bytes += size;
      c.stats.peak_live_bytes = std::max(c.stats.peak_live_bytes, c.stats.live_bytes);
      ++c.stats.hits;
      return p;
    }
    ++c.stats.system_allocations;
    c.stats.live_bytes += size;
    c.stats.peak_live_bytes = std::max(c.stats.peak_live_bytes, c.stats.live_bytes);
  }
  void* p = std::aligned_alloc(kAlign, size);
  if (!p) throw std::bad_alloc();
  return p;
}

void cpu_release(void* p, size_t rounded_bytes) {
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.stats.live_bytes -= rounded_bytes;
    if (c.stats.cached_bytes + rounded_bytes <= c.limit) {
      c.free_blocks[rounded_bytes].push_back(p);
      c.stats.cached_bytes += rounded_bytes;
      return;
    }
  }
  std::free(p);
}

void cpu_allocator_reset_peak() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.peak_live_bytes = c.stats.live_bytes;
}

AllocatorStats cpu_allocator_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void cpu_allocator_empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, blocks] : c.free_blocks)
    for (void* p : blocks) std::free(p);
  c.free_blocks.clear();
  c.stats.cached_bytes = 0;
}

void set_cpu_cache_limit(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.limit = bytes;
  c.limit_set = true;
}

}  // namespace iapt
