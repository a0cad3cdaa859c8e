// iapt_allreduce_check: under an MPI launcher with 2 processes, the communicator's sum over ranks
// of f32 and f64 tensors (dense, transposed, scalar, in one call) and its broadcast; exit 77
// (skipped) where the build has no MPI.
#include <cstdio>
#include <fmt/format.h>

#include "core/error.h"
#include "kernels/backends.h"
#include "optim/communicator.h"
#include "tests/dist/dist_checks.h"

using namespace iapt;

int main() {
  if (testing::skip_without_mpi("allreduce")) return 77;
  kernels::register_backends();
  const optim::Communicator& world = optim::Communicator::world();
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) ++failures, fmt::print(stderr, "rank {}: FAIL {}\n", world.rank(), what);
  };
  check(world.size() == 2, fmt::format("2 ranks, got {}", world.size()));
  // rank r holds (r + 1) x: the sum over two ranks is 3 x, exactly (small integers)
  const double scale = world.rank() + 1.0;
  auto values = [&](int64_t n, double offset) {
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = scale * (static_cast<double>(i) - offset);
    return v;
  };
  const Tensor a = from_vector(values(12, 5), {3, 4}, DType::F64);
  const Tensor b = from_vector(values(10, 2), {5, 2}, DType::F64).transpose(0, 1);  // written through its strides
  const Tensor c = from_vector(values(7, 3), {7}, DType::F32);
  const Tensor d = scalar_tensor(scale * 0.5, DType::F64);
  world.allreduce_sum({a, c, b, d});
  auto expect = [&](const Tensor& t, int64_t n, double offset, const Shape& shape, const char* name) {
    check(t.shape() == shape, fmt::format("{}: shape {}", name, shape_str(t.shape())));
    std::vector<double> want(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = 3.0 * (static_cast<double>(i) - offset);
    const Tensor w = from_vector(want, {n}, t.dtype());
    check(t.contiguous().reshape({n}).to_vector() == w.to_vector(), fmt::format("{}: the sum over the ranks", name));
  };
  expect(a, 12, 5, {3, 4}, "f64 [3, 4]");
  expect(b.transpose(0, 1), 10, 2, {5, 2}, "f64 transposed [2, 5]");
  expect(c, 7, 3, {7}, "f32 [7]");
  check(d.item() == 1.5, fmt::format("scalar: {} (want 1.5)", d.item()));
  std::vector<double> root_values{world.rank() == 0 ? 4.25 : -1.0, world.rank() == 0 ? 7.0 : -1.0};
  world.broadcast(root_values);
  check(root_values == std::vector<double>{4.25, 7.0}, "broadcast of the root's values");
  // bytes of different lengths (rank 1's with a zero byte inside) reach the root in rank order
  const std::string mine = world.rank() == 0 ? std::string("rank zero") : std::string("r1\0x", 4);
  const std::vector<std::string> gathered = world.gather(mine);
  check(world.rank() == 0 ? gathered == std::vector<std::string>{"rank zero", std::string("r1\0x", 4)} : gathered.empty(),
        fmt::format("gather: {} parts on rank {}", gathered.size(), world.rank()));
  bool refused = false;
  try {
    world.allreduce_sum({ones({2}, DType::I64)});
  } catch (const Error&) {
    refused = true;
  }
  check(refused, "an i64 tensor is refused");
  world.barrier();
  if (failures == 0) fmt::print("rank {} of {}: allreduce, broadcast and gather agree\n", world.rank(), world.size());
  return failures == 0 ? 0 : 1;
}
