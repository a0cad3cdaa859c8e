// A backbone's weights kept 16-bit: products, lookups and gradients through them match the same
// (rounded) weights held in f32, and a 16-bit weight never trains.
#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "core/ops.h"
#include "core/rng.h"
#include "nn/linear.h"
#include "nn/peft/multi_tenant.h"

using namespace iapt;

namespace {

double max_rel_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const double scale = ops::amax(ops::unary(UnaryOp::Abs, b.to(DType::F64)), {}, false).item();
  return ops::amax(ops::unary(UnaryOp::Abs, ops::sub(a.to(DType::F64), b.to(DType::F64))), {}, false).item() / scale;
}

}  // namespace

TEST_CASE("16-bit weights: a Linear with a bf16 or f16 weight equals its f32 twin, output and input gradient",
          "[nn][half]") {
  for (DType half : {DType::BF16, DType::F16}) {
    INFO(dtype_name(half));
    manual_seed(3);
    nn::Linear low(300, 130, false, half);
    nn::Linear full(300, 130, false, DType::F32);
    full.weight.data().copy_(low.weight.data());  // the same values, exactly (widening is exact)
    CHECK_FALSE(low.weight.requires_grad());
    CHECK(low.trainable_parameter_count() == 0);
    const Tensor x0 = randn({3, 7, 300});
    Variable x_low(x0.clone(), true), x_full(x0.clone(), true);
    Variable y_low = low.forward(x_low), y_full = full.forward(x_full);
    REQUIRE(y_low.dtype() == DType::F32);  // activations stay f32
    // f32 products of the same numbers, summed in another order: a few f32 ulps
    CHECK(max_rel_diff(y_low.data(), y_full.data()) < 1e-6);
    sum(mul(y_low, y_low)).backward();
    sum(mul(y_full, y_full)).backward();
    CHECK(max_rel_diff(x_low.grad(), x_full.grad()) < 1e-6);
  }
}

TEST_CASE("16-bit weights: an embedding table gathers 16-bit rows as f32 activations", "[nn][half]") {
  manual_seed(4);
  nn::Embedding table(50, 16, DType::BF16);
  const Tensor ids = from_ints({3, 0, 49, 3}, {2, 2});
  Variable out = table.forward(ids);
  REQUIRE(out.dtype() == DType::F32);
  CHECK(out.shape() == Shape{2, 2, 16});
  CHECK(ops::embedding(table.weight.data().to(DType::F32), ids).to_vector() == out.data().to_vector());
  CHECK_FALSE(out.requires_grad());
}

TEST_CASE("16-bit weights: training one is refused, naming why", "[nn][half]") {
  nn::Linear low(4, 3, false, DType::BF16);
  CHECK_THROWS_WITH(low.weight.set_requires_grad(true),
                    Catch::Contains("bf16 tensor cannot require grad") && Catch::Contains("trainable parameters are f32"));
  CHECK_THROWS_WITH(Variable(ones({2}, DType::F16), true), Catch::Contains("f16 tensor cannot require grad"));
  // a 16-bit weight multiplies f32 or f64 activations only
  CHECK_THROWS_WITH(ops::matmul(ones({2, 4}, DType::F16), low.weight.data(), false, true),
                    Catch::Contains("matmul") && Catch::Contains("f16"));
}

namespace {
struct OneProjection : nn::Module {
  explicit OneProjection(DType weights) { proj = register_module("proj", std::make_shared<nn::Linear>(12, 10, false, weights)); }
  std::shared_ptr<nn::Linear> proj;
};
}  // namespace

TEST_CASE("16-bit weights: multi-tenant LoRA over a bf16 projection equals it over the f32 twin", "[nn][half][multi_tenant]") {
  manual_seed(6);
  OneProjection low(DType::BF16), full(DType::F32);
  full.proj->weight.data().copy_(low.proj->weight.data());
  const std::vector<std::map<std::string, Tensor>> tenants{
      {{"proj.lora_A.weight", randn({2, 12})}, {"proj.lora_B.weight", randn({10, 2})}},
      {{"proj.lora_A.weight", randn({2, 12})}, {"proj.lora_B.weight", randn({10, 2})}}};
  nn::MultiTenantLora on_low(low, tenants, 2.0, nn::LoraBatching::Gather);
  nn::MultiTenantLora on_full(full, tenants, 2.0, nn::LoraBatching::Gather);
  on_low.set_row_tenants({1, 0, 1});
  on_full.set_row_tenants({1, 0, 1});
  const Variable x(randn({3, 5, 12}));
  Variable y_low = low.proj->forward(x), y_full = full.proj->forward(x);
  REQUIRE(y_low.dtype() == DType::F32);
  CHECK(max_rel_diff(y_low.data(), y_full.data()) < 1e-6);
}

TEST_CASE("16-bit weights: products for a few rows (generation's kernel) equal the f32 twin, row by row",
          "[nn][half]") {
  // 1 to 16 rows take the kernel that widens the weight in registers (where the CPU has AVX-512;
  // eight rows at a time), 17 the panels; K 300 leaves a tail of 12 past the 16-wide steps; the
  // activations are a slice of a wider matrix, so their rows are strided.
  for (DType half : {DType::BF16, DType::F16}) {
    manual_seed(8);
    const Tensor w = randn({70, 300}).to(half), w32 = w.to(DType::F32);
    const Tensor wide = randn({17, 320});
    for (int64_t m = 1; m <= 17; ++m) {
      INFO(dtype_name(half) << ", " << m << " rows");
      const Tensor a = wide.narrow(0, 0, m).narrow(1, 0, 300);
      const Tensor got = ops::matmul(a, w, false, true), want = ops::matmul(a, w32, false, true);
      CHECK(max_rel_diff(got, want) < 1e-6);  // f32 sums of the same products, in another order
      // a row's result does not depend on the rows beside it: the last row, alone and among m
      const Tensor last = a.narrow(0, m - 1, 1);
      if (m <= 16) CHECK(got.narrow(0, m - 1, 1).to_vector() == ops::matmul(last, w, false, true).to_vector());
    }
  }
}
