#pragma once
// The caching device allocator. cudaMalloc synchronises the device and costs far more than a
// kernel, so freed blocks are kept, bucketed by size, and handed out again: after the first
// training step, a step allocates nothing from the driver. Every kernel runs on the one stream,
// so a block freed on the host may be reused at once: later work is queued behind earlier work.
#include <cstddef>

namespace iapt::kernels::cuda {

struct DeviceAllocatorStats {
  size_t cached_bytes = 0, live_bytes = 0, peak_live_bytes = 0;
  size_t driver_allocations = 0;  // cudaMalloc calls so far
  size_t hits = 0;                // allocations served from the cache
};

void* device_allocate(size_t bytes, size_t* rounded);
void device_release(void* p, size_t rounded);
DeviceAllocatorStats device_allocator_stats();
void device_empty_cache();  // returns every cached block to the driver
void device_reset_peak();   // peak_live_bytes <- live_bytes

}  // namespace iapt::kernels::cuda
