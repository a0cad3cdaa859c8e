// The fused attention kernel against the composition it replaces (scores, scale, mask, softmax,
// weighted values over repeated key/value heads), values and gradients in f64 and f32, and an f64
// gradcheck of its own backward: grouped heads, keys beyond the queries (a prefix), a padding mask
// with a fully masked row, and strided query views as the model passes them.
#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/ops.h"

using namespace iapt;

namespace {

// The composed reference: key/value heads repeated, then scaled_dot_product_attention.
Variable composed(const Variable& q, const Variable& k, const Variable& v, bool causal, const std::optional<Tensor>& mask) {
  const int64_t g = q.size(1) / k.size(1), b = k.size(0), hkv = k.size(1), s = k.size(2), d = k.size(3);
  auto repeat = [&](const Variable& x) {
    return g == 1 ? x : reshape(expand(unsqueeze(x, 2), {b, hkv, g, s, d}), {b, hkv * g, s, d});
  };
  return scaled_dot_product_attention(q, repeat(k), repeat(v), causal, mask);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  return ops::amax(ops::unary(UnaryOp::Abs, ops::sub(a.to(DType::F64), b.to(DType::F64))), {}, false).item();
}

struct Case {
  int64_t b, h, hkv, t, s, d;
  bool causal, mask;
};

}  // namespace

TEST_CASE("attention: the fused kernel equals the composition, values and gradients", "[attention]") {
  REQUIRE(ops::has_fused_attention(Device::CPU));
  manual_seed(7);
  for (DType dtype : {DType::F64, DType::F32}) {
    const double tol = dtype == DType::F64 ? 1e-12 : 2e-5;
    for (Case c : {Case{2, 4, 2, 5, 5, 8, true, false}, Case{2, 4, 1, 5, 9, 8, true, true}, Case{1, 2, 2, 3, 7, 4, false, true},
                   Case{3, 6, 3, 1, 6, 4, true, true}}) {
      INFO("b " << c.b << " h " << c.h << " hkv " << c.hkv << " t " << c.t << " s " << c.s << " causal " << c.causal
                << " mask " << c.mask << " " << dtype_name(dtype));
      // q as the model makes it: [B, T, H, D] transposed to [B, H, T, D] (not contiguous)
      Tensor q0 = randn({c.b, c.t, c.h, c.d}, dtype).transpose(1, 2);
      Tensor k0 = randn({c.b, c.hkv, c.s, c.d}, dtype), v0 = randn({c.b, c.hkv, c.s, c.d}, dtype);
      std::optional<Tensor> mask;
      if (c.mask) {
        std::vector<int64_t> m(c.b * c.s, 1);
        m[0] = m[1] = 0;                                        // row 0: two padded keys
        for (int64_t j = 0; j < c.s; ++j) m[(c.b - 1) * c.s + j] = 0;  // the last row sees nothing
        if (c.b == 1) m[0] = 1;
        mask = from_ints(m, {c.b, c.s});
      }
      Tensor gout = randn({c.b, c.h, c.t, c.d}, dtype);
      auto run = [&](bool fused) {
        Variable q(q0, true), k(k0, true), v(v0, true);
        Variable y = fused ? attention(q, k, v, c.causal, mask) : composed(q, k, v, c.causal, mask);
        sum(mul(y, Variable(gout))).backward();
        return std::vector<Tensor>{y.data(), q.grad(), k.grad(), v.grad()};
      };
      auto fused = run(true), reference = run(false);
      const char* names[] = {"output", "grad q", "grad k", "grad v"};
      for (int i = 0; i < 4; ++i) {
        INFO(names[i]);
        CHECK(max_abs_diff(fused[i], reference[i]) < tol);
      }
    }
  }
}

TEST_CASE("attention: gradcheck of the fused kernel", "[attention][gradcheck]") {
  manual_seed(3);
  std::vector<int64_t> m{0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1};
  Tensor mask = from_ints(m, {2, 6});
  auto f = [mask](const std::vector<Variable>& x) { return attention(x[0], x[1], x[2], true, mask); };
  GradcheckReport r = gradcheck(f, {randn({2, 4, 3, 5}, DType::F64), randn({2, 2, 6, 5}, DType::F64),
                                    randn({2, 2, 6, 5}, DType::F64)});
  INFO(r.to_string());
  CHECK(r.ok);
  CHECK(r.elements_checked > 0);
}
