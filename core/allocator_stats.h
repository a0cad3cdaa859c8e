#pragma once
// What a backend's caching allocator reports, the same fields on every device
// (core/backend.h: allocator_stats(Device)).
#include <cstddef>

namespace iapt {

struct AllocatorStats {
  size_t cached_bytes = 0;        // free blocks held for reuse
  size_t live_bytes = 0;          // blocks handed out and not yet released
  size_t peak_live_bytes = 0;     // the most live_bytes reached since the last reset of the peak
  size_t hits = 0;                // allocations served from the cache
  size_t system_allocations = 0;  // allocations served by the system (malloc; cudaMalloc)
};

}  // namespace iapt
