#include <map>
#include <mutex>
#include <vector>

#include "core/cpu_allocator.h"  // allocation_bucket
#include "kernels/cuda/cuda_allocator.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"

namespace iapt::kernels::cuda {

namespace {

struct Cache {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_blocks;
  AllocatorStats stats;
};

Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

}  // namespace

void* cuda_allocate(size_t bytes, size_t* rounded) {
  const size_t size = allocation_bucket(bytes, 512);  // 512-byte granules keep rows well aligned
  *rounded = size;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto note_live = [&] {
    c.stats.live_bytes += size;
    if (c.stats.live_bytes > c.stats.peak_live_bytes) c.stats.peak_live_bytes = c.stats.live_bytes;
  };
  auto it = c.free_blocks.find(size);
  if (it != c.free_blocks.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    c.stats.cached_bytes -= size;
    ++c.stats.hits;
    note_live();
    return p;
  }
  stream();  // the context (device selection) exists before the first allocation
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation && c.stats.cached_bytes > 0) {
    // Out of memory with blocks cached: give them back and try once more.
    (void)cudaGetLastError();
    IAPT_CUDA_CHECK(cudaStreamSynchronize(stream()));
    for (auto& [s, blocks] : c.free_blocks)
      for (void* b : blocks) IAPT_CUDA_CHECK(cudaFree(b));
    c.free_blocks.clear();
    c.stats.cached_bytes = 0;
    err = cudaMalloc(&p, size);
  }
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    throw Error(fmt::format("cuda allocator: cudaMalloc of {} bytes failed: {} ({} bytes live, {} cached)", size,
                            cudaGetErrorString(err), c.stats.live_bytes, c.stats.cached_bytes));
  }
  ++c.stats.system_allocations;
  note_live();
  return p;
}

void cuda_release(void* p, size_t rounded) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.live_bytes -= rounded;
  c.stats.cached_bytes += rounded;
  c.free_blocks[rounded].push_back(p);
}

AllocatorStats cuda_allocator_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void cuda_allocator_reset_peak() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.peak_live_bytes = c.stats.live_bytes;
}

void cuda_allocator_empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  IAPT_CUDA_CHECK(cudaStreamSynchronize(stream()));
  for (auto& [s, blocks] : c.free_blocks)
    for (void* b : blocks) IAPT_CUDA_CHECK(cudaFree(b));
  c.free_blocks.clear();
  c.stats.cached_bytes = 0;
}

}  // namespace iapt::kernels::cuda
