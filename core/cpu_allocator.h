#pragma once
// A caching allocator for CPU tensor memory. A training step allocates the same sizes every
// step; keeping freed blocks for reuse avoids returning them to the OS and faulting fresh pages
// back in on the next step. Sizes are rounded up to one of two sizes per power of two (at most
// a third wasted), and at most the cache limit (set_cpu_cache_limit) of free blocks are kept.
#include <cstddef>

namespace iapt {

struct CpuAllocatorStats {
  size_t cached_bytes = 0;     // free blocks held for reuse
  size_t live_bytes = 0;       // blocks handed out and not yet released
  size_t peak_live_bytes = 0;  // the most live_bytes reached since the last reset_cpu_peak()
  size_t hits = 0, misses = 0;  // allocations served from the cache, and from the system
};

// The size class a request is served from: multiples of `granule` up to 4 KiB, then two classes
// per power of two (p and 1.5 p), so at most a third is wasted. The CUDA allocator uses it too.
// Requests above kMaxAllocationBytes are refused with an error.
constexpr size_t kMaxAllocationBytes = size_t{1} << 62;
size_t allocation_bucket(size_t bytes, size_t granule);

void* cpu_allocate(size_t bytes, size_t* rounded_bytes);
void cpu_release(void* p, size_t rounded_bytes);
CpuAllocatorStats cpu_allocator_stats();
void cpu_allocator_empty_cache();
void reset_cpu_peak();  // peak_live_bytes <- live_bytes
// Default a quarter of physical memory (at least 1 GiB); IAPT_CPU_CACHE_MB in the environment
// overrides it at the first allocation.
void set_cpu_cache_limit(size_t bytes);

}  // namespace iapt
