#include <catch2/catch.hpp>

#include "core/cpu_allocator.h"
#include "core/tensor.h"

using namespace iapt;

TEST_CASE("cpu allocator: a freed block is reused for the next tensor of that size", "[core]") {
  const void* first;
  {
    Tensor t = empty({123, 457});
    first = t.raw_data();
  }
  CpuAllocatorStats before = cpu_allocator_stats();
  Tensor again = empty({123, 457});
  CpuAllocatorStats after = cpu_allocator_stats();
  CHECK(again.raw_data() == first);
  CHECK(after.hits == before.hits + 1);
  CHECK(after.misses == before.misses);
  CHECK(reinterpret_cast<uintptr_t>(again.raw_data()) % 64 == 0);

  cpu_allocator_empty_cache();
  CHECK(cpu_allocator_stats().cached_bytes == 0);
}

TEST_CASE("cpu allocator: nothing is cached beyond the limit", "[core]") {
  cpu_allocator_empty_cache();
  set_cpu_cache_limit(0);
  { Tensor t = empty({1000}); }
  CHECK(cpu_allocator_stats().cached_bytes == 0);
  set_cpu_cache_limit(size_t{1} << 30);
  { Tensor t = empty({1000}); }
  CHECK(cpu_allocator_stats().cached_bytes >= 4000);
}
