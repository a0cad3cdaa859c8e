#pragma once
// A caching allocator for CPU tensor memory. A training step allocates the same sizes every
// step; keeping freed blocks for reuse avoids returning them to the OS and faulting fresh pages
// back in on the next step. Sizes are rounded up to one of two sizes per power of two (at most
// a third wasted), and at most the cache limit (set_cpu_cache_limit) of free blocks are kept.
#include <cstddef>

#include "core/allocator_stats.h"

namespace iapt {

// The size class a request is served from: multiples of `granule` up to 4 KiB, then two classes
// per power of two (p and 1.5 p), so at most a third is wasted. The CUDA allocator uses it too.
// Requests above kMaxAllocationBytes are refused with an error.
constexpr size_t kMaxAllocationBytes = size_t{1} << 62;
size_t allocation_bucket(size_t bytes, size_t granule);

void* cpu_allocate(size_t bytes, size_t* rounded_bytes);
void cpu_release(void* p, size_t rounded_bytes);
// The CPU backend's entries (see AllocatorStats); code above the kernels reads them through
// allocator_stats(Device) and its companions in core/backend.h.
AllocatorStats cpu_allocator_stats();
void cpu_allocator_empty_cache();
void cpu_allocator_reset_peak();
// Default a quarter of physical memory (at least 1 GiB); IAPT_CPU_CACHE_MB in the environment
// overrides it at the first allocation.
void set_cpu_cache_limit(size_t bytes);

}  // namespace iapt
