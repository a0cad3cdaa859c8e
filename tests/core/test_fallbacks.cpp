// Each composition of core/fallbacks.h against the fused CPU kernel it stands in for, values and
// gradients, in f64 and f32. The CUDA backend runs these compositions today, so this is what holds
// it to the CPU's fused kernels on a machine without a GPU (the parity groups hold the rest).
#include <catch2/catch.hpp>

#include "core/backend.h"
#include "core/fallbacks.h"
#include "core/ops.h"
#include "core/rng.h"

using namespace iapt;

namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  return ops::amax(ops::unary(UnaryOp::Abs, ops::sub(a.to(DType::F64), b.to(DType::F64))), {}, false).item();
}

double tolerance(DType dtype) { return dtype == DType::F64 ? 1e-12 : 2e-5; }

}  // namespace

TEST_CASE("fallbacks: composed attention equals the fused kernel, values and gradients", "[fallbacks][attention]") {
  REQUIRE(ops::has_fused_attention(Device::CPU));
  struct Case {
    int64_t b, h, hkv, t, s, d;
    bool causal, mask;
  };
  manual_seed(11);
  for (DType dtype : {DType::F64, DType::F32}) {
    for (Case c : {Case{2, 4, 2, 5, 5, 8, true, false}, Case{2, 4, 1, 5, 9, 8, true, true},
                   Case{1, 2, 2, 3, 7, 4, false, true}, Case{3, 6, 3, 1, 6, 4, true, true}}) {
      INFO("b " << c.b << " h " << c.h << " hkv " << c.hkv << " t " << c.t << " s " << c.s << " causal " << c.causal
                << " mask " << c.mask << " " << dtype_name(dtype));
      Tensor q = randn({c.b, c.t, c.h, c.d}, dtype).transpose(1, 2);  // strided, as the model passes it
      Tensor k = randn({c.b, c.hkv, c.s, c.d}, dtype), v = randn({c.b, c.hkv, c.s, c.d}, dtype);
      Tensor mask;
      if (c.mask) {
        std::vector<int64_t> m(c.b * c.s, 1);
        m[0] = m[1] = 0;                                               // row 0: two padded keys
        for (int64_t j = 0; j < c.s; ++j) m[(c.b - 1) * c.s + j] = 0;  // the last row sees nothing
        if (c.b == 1) m[0] = 1;
        mask = from_ints(m, {c.b, c.s});
      }
      const double scale = 1.0 / std::sqrt(static_cast<double>(c.d));
      Tensor gout = randn({c.b, c.h, c.t, c.d}, dtype);
      const ops::AttentionResult fused = ops::attention(q, k, v, mask, c.causal, scale);
      const ops::AttentionResult composed = fallback::attention(q, k, v, mask, c.causal, scale);
      const ops::AttentionGrads fused_grads =
          ops::attention_backward(q, k, v, mask, c.causal, fused.probs, gout, scale);
      const ops::AttentionGrads composed_grads =
          fallback::attention_backward(q, k, v, mask, c.causal, composed.probs, gout, scale);
      CHECK(max_abs_diff(fused.out, composed.out) < tolerance(dtype));
      CHECK(max_abs_diff(fused.probs, composed.probs) < tolerance(dtype));
      CHECK(max_abs_diff(fused_grads.q, composed_grads.q) < tolerance(dtype));
      CHECK(max_abs_diff(fused_grads.k, composed_grads.k) < tolerance(dtype));
      CHECK(max_abs_diff(fused_grads.v, composed_grads.v) < tolerance(dtype));
    }
  }
}

TEST_CASE("fallbacks: composed SwiGLU equals the fused kernel, values and gradients", "[fallbacks]") {
  REQUIRE(backend_for(Device::CPU).swiglu != nullptr);
  manual_seed(12);
  for (DType dtype : {DType::F64, DType::F32}) {
    INFO(dtype_name(dtype));
    Tensor gate = randn({7, 33}, dtype), up = randn({7, 33}, dtype), gout = randn({7, 33}, dtype);
    CHECK(max_abs_diff(ops::swiglu(gate, up), fallback::swiglu(gate, up)) < tolerance(dtype));
    const auto [fused_gate, fused_up] = ops::swiglu_backward(gate, up, gout);
    const auto [composed_gate, composed_up] = fallback::swiglu_backward(gate, up, gout);
    CHECK(max_abs_diff(fused_gate, composed_gate) < tolerance(dtype));
    CHECK(max_abs_diff(fused_up, composed_up) < tolerance(dtype));
  }
}

TEST_CASE("fallbacks: composed Adam step equals the fused kernel, coupled and decoupled decay", "[fallbacks][optim]") {
  REQUIRE(backend_for(Device::CPU).adam_step != nullptr);
  manual_seed(13);
  for (DType dtype : {DType::F64, DType::F32}) {
    for (bool decoupled : {false, true}) {
      INFO(dtype_name(dtype) << (decoupled ? " decoupled" : " coupled"));
      Tensor p0 = randn({9, 14}, dtype), m0 = randn({9, 14}, dtype);
      Tensor v0 = ops::unary(UnaryOp::Abs, randn({9, 14}, dtype));
      Tensor fused_p = p0.clone(), fused_m = m0.clone(), fused_v = v0.clone();
      Tensor composed_p = p0.clone(), composed_m = m0.clone(), composed_v = v0.clone();
      for (int step = 1; step <= 3; ++step) {
        Tensor g = randn({9, 14}, dtype);
        const double c1 = 1.0 - std::pow(0.9, step), c2 = 1.0 - std::pow(0.999, step);
        ops::adam_step(fused_p, g, fused_m, fused_v, 1e-2, 0.9, 0.999, 1e-8, 0.1, decoupled, c1, c2);
        fallback::adam_step(composed_p, g, composed_m, composed_v, 1e-2, 0.9, 0.999, 1e-8, 0.1, decoupled, c1, c2);
      }
      CHECK(max_abs_diff(p0, fused_p) > 1e-3);  // the steps moved the parameters
      CHECK(max_abs_diff(fused_p, composed_p) < tolerance(dtype));
      CHECK(max_abs_diff(fused_m, composed_m) < tolerance(dtype));
      CHECK(max_abs_diff(fused_v, composed_v) < tolerance(dtype));
    }
  }
}

TEST_CASE("fallbacks: widening a whole 16-bit weight equals the panelled GEMM kernel", "[fallbacks][half]") {
  REQUIRE(backend_for(Device::CPU).gemm_16bit != nullptr);
  manual_seed(14);
  for (DType dtype : {DType::F64, DType::F32}) {
    for (DType half : {DType::BF16, DType::F16}) {
      INFO(dtype_name(dtype) << " x " << dtype_name(half));
      const Tensor w = randn({70, 5000}, half);  // panels of 52 rows: two of them
      const Tensor x = randn({9, 5000}, dtype), g = randn({9, 70}, dtype);
      CHECK(max_abs_diff(ops::matmul(x, w, false, true), fallback::gemm_16bit(x, w, false, true)) < tolerance(dtype) * 10);
      CHECK(max_abs_diff(ops::matmul(g, w), fallback::gemm_16bit(g, w, false, false)) < tolerance(dtype) * 10);
      const Tensor gt = g.transpose(0, 1).contiguous().transpose(0, 1);  // stored [70, 9]
      CHECK(max_abs_diff(ops::matmul(gt, w), fallback::gemm_16bit(gt, w, false, false)) < tolerance(dtype) * 10);
      CHECK(max_abs_diff(ops::matmul(gt.transpose(0, 1), w, true, false),
                         fallback::gemm_16bit(gt.transpose(0, 1), w, true, false)) < tolerance(dtype) * 10);
    }
  }
}
