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
  AllocatorStats before = cpu_allocator_stats();
  Tensor again = empty({123, 457});
  AllocatorStats after = cpu_allocator_stats();
  CHECK(again.raw_data() == first);
  CHECK(after.hits == before.hits + 1);
  CHECK(after.system_allocations == before.system_allocations);
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

TEST_CASE("cpu allocator: impossible sizes are refused with an error, not an endless size search", "[core]") {
  // a negative size cast to size_t, and the largest requests, once made the bucket search loop forever
  CHECK_THROWS_WITH(allocation_bucket(static_cast<size_t>(int64_t{-688} * 4), 64), Catch::Contains("cannot allocate"));
  CHECK_THROWS_WITH(allocation_bucket(SIZE_MAX, 64), Catch::Contains("more than 2^62"));
  CHECK(allocation_bucket(kMaxAllocationBytes, 64) == kMaxAllocationBytes);
  // tensors check their shape first, and name it
  CHECK_THROWS_WITH(empty({4, -8}), Catch::Contains("tensor of shape [4, -8]: a size is negative"));
  CHECK_THROWS_WITH(empty({int64_t{1} << 31, int64_t{1} << 31}, DType::F64), Catch::Contains("more than 2^62 bytes"));
  CHECK(empty({0, 5}).numel() == 0);
}
