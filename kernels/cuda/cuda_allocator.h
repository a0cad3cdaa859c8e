#pragma once
// The caching device allocator. cudaMalloc synchronises the device and costs far more than a
// kernel, so freed blocks are kept, bucketed by size, and handed out again: after the first
// training step, a step allocates nothing from the driver. Every kernel runs on the one stream,
// so a block freed on the host may be reused at once: later work is queued behind earlier work.
#include <cstddef>

#include "core/allocator_stats.h"

namespace iapt::kernels::cuda {

// The CUDA backend's memory entries, named as the CPU allocator's (core/cpu_allocator.h);
// system_allocations counts cudaMalloc calls.
void* cuda_allocate(size_t bytes, size_t* rounded);
void cuda_release(void* p, size_t rounded);
AllocatorStats cuda_allocator_stats();
void cuda_allocator_empty_cache();  // returns every cached block to the driver
void cuda_allocator_reset_peak();   // peak_live_bytes <- live_bytes

}  // namespace iapt::kernels::cuda
