// The ops' paths for backends whose kernels take 16-bit tensors as they are (Backend::native_bf16
// and native_f16: CUDA claims every family). The CPU's kernels widen only the elementwise family,
// so here a CPU table claims the others and each of its kernels widens its 16-bit tensors itself:
// what a native kernel computes. The ops' native paths (what they allocate, in which dtype, what
// they pass) must then give the same bits as their widening paths on the plain CPU table.
#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <tuple>
#include <utility>

#include "core/backend.h"
#include "core/ops.h"

using namespace iapt;

namespace {

const Backend*& plain_cpu() {
  static const Backend* table = nullptr;
  return table;
}

// Calls of an emulated kernel with a 16-bit tensor among its arguments: the ops took a native path.
int& native_calls() {
  static int n = 0;
  return n;
}

Tensor f32_copy(const Tensor& t) {
  if (!t.defined() || !is_16bit(t.dtype())) return t;
  ++native_calls();
  return t.to(DType::F32);
}
template <class A>
A f32_copy(const A& a) {
  return a;
}

// Rounds a kernel's f32 result into its 16-bit output; an input rounds back to its own values.
void round_into(const Tensor& dst, const Tensor& src) {
  if (dst.defined() && is_16bit(dst.dtype())) dst.copy_(src);
}
template <class A, class B>
void round_into(const A&, const B&) {}

template <class Copies, size_t... I, class... A>
void round_back(const Copies& copies, std::index_sequence<I...>, const A&... arguments) {
  (round_into(arguments, std::get<I>(copies)), ...);
}

// Every Native16 family but Gemm: the CPU's widening path multiplies f32 activations by a 16-bit
// weight in its own kernel (gemm_16bit), whose summation order differs from the f32 GEMM's.
constexpr uint32_t kEmulated = kEveryNative16 & ~bits(Native16::Gemm);

#define IAPT_WIDENING(kernel)                                                                     \
  t.kernel = [](auto... arguments) {                                                             \
    auto copies = std::make_tuple(f32_copy(arguments)...);                                       \
    std::apply([](const auto&... c) { plain_cpu()->kernel(c...); }, copies);                     \
    round_back(copies, std::index_sequence_for<decltype(arguments)...>{}, arguments...);         \
  }

// The kernels of the emulated families; the others (copies, fills, random numbers, GEMM, attention)
// stay the plain table's, which the widening itself calls.
Backend widening_kernels(const Backend& cpu) {
  Backend t = cpu;
  t.native_bf16 = kEmulated;
  t.native_f16 = kEmulated;
  IAPT_WIDENING(unary);
  IAPT_WIDENING(unary_backward);
  IAPT_WIDENING(binary);
  IAPT_WIDENING(swiglu);
  IAPT_WIDENING(swiglu_backward);
  IAPT_WIDENING(where);
  IAPT_WIDENING(reduce);
  IAPT_WIDENING(softmax);
  IAPT_WIDENING(softmax_backward);
  IAPT_WIDENING(cross_entropy);
  IAPT_WIDENING(cross_entropy_backward);
  IAPT_WIDENING(rms_norm);
  IAPT_WIDENING(rms_norm_backward);
  IAPT_WIDENING(layer_norm);
  IAPT_WIDENING(layer_norm_backward);
  IAPT_WIDENING(rope);
  IAPT_WIDENING(rational);
  IAPT_WIDENING(rational_backward);
  return t;
}
#undef IAPT_WIDENING

// f's tensors computed with the plain CPU table and with the native-claiming one. The registry keeps
// a pointer to the table: the plain one (a static of the kernels layer) goes back in place.
std::pair<std::vector<Tensor>, std::vector<Tensor>> both_ways(const std::function<std::vector<Tensor>()>& f) {
  const Backend& plain = backend_for(Device::CPU);
  plain_cpu() = &plain;
  static Backend native;
  native = widening_kernels(plain);
  std::vector<Tensor> widening = f();
  REQUIRE(native_calls() == 0);  // the plain table's kernels are never the emulated ones
  register_backend(Device::CPU, native);
  std::vector<Tensor> direct;
  try {
    direct = f();
  } catch (...) {
    register_backend(Device::CPU, plain);
    throw;
  }
  register_backend(Device::CPU, plain);
  return {widening, direct};
}

void same_bits(const std::vector<Tensor>& widening, const std::vector<Tensor>& direct) {
  REQUIRE(widening.size() == direct.size());
  for (size_t i = 0; i < widening.size(); ++i) {
    INFO("result " << i);
    const Tensor a = widening[i].contiguous(), b = direct[i].contiguous();
    REQUIRE(a.dtype() == b.dtype());
    REQUIRE(a.shape() == b.shape());
    CHECK(std::memcmp(a.raw_data(), b.raw_data(), static_cast<size_t>(a.numel()) * dtype_size(a.dtype())) == 0);
  }
}

Tensor randn16(const Shape& s, uint64_t seed, DType dt) {
  Tensor t = empty(s, DType::F32);
  backend_for(Device::CPU).normal(t, seed, 0);
  return t.to(dt);
}

}  // namespace

TEST_CASE("native 16-bit kernels: the ops' direct paths give the widening paths' bits", "[core][half]") {
  for (DType dt : {DType::BF16, DType::F16}) {
    INFO(dtype_name(dt));
    const Tensor x = randn16({6, 40}, 1, dt), g = randn16({6, 40}, 2, dt), heads = randn16({2, 3, 5, 8}, 3, dt);
    const Tensor w = randn16({40}, 4, DType::F32), b = randn16({40}, 5, DType::F32);
    const Tensor num = randn16({5}, 6, DType::F32), den = randn16({4}, 7, DType::F32);
    const Tensor targets = from_ints({3, -100, 0, 39, 7, -100}, {6}), positions = from_ints({0, 2, 4, 6, 8}, {5});
    const Tensor cond = from_ints({1, 0, 1, 1, 0, 0}, {6, 1});
    auto [widening, direct] = both_ways([&] {
      std::vector<Tensor> r;
      const Tensor y = ops::softmax(x, -1), ly = ops::softmax(x, -1, true);
      r.push_back(y);
      r.push_back(ops::softmax_backward(y, g, -1, false));
      r.push_back(ops::softmax_backward(ly, g, -1, true));
      r.push_back(ops::softmax(x, 0));  // an inner axis
      const auto ce = ops::cross_entropy(x, targets, -100);
      REQUIRE(ce.loss.dtype() == DType::F32);  // the loss and the log-sum-exp stay f32
      REQUIRE(ce.lse.dtype() == DType::F32);
      r.push_back(ce.loss);
      r.push_back(ce.lse);
      r.push_back(ops::cross_entropy_backward(x, targets, ce.lse, -100, scalar_tensor(0.5)));
      const ops::NormResult rn = ops::rms_norm(x, w, 1e-5);
      REQUIRE(rn.rstd.dtype() == DType::F32);
      r.push_back(rn.out);
      r.push_back(rn.rstd);
      auto [gx, gw] = ops::rms_norm_backward(x, w, rn.rstd, g, true);
      REQUIRE(gw.dtype() == DType::F32);
      r.push_back(gx);
      r.push_back(gw);
      const Tensor w16 = w.to(dt);  // a 16-bit weight: its gradient 16-bit too
      const ops::NormResult rn16 = ops::rms_norm(x, w16, 1e-5);
      auto [gx16, gw16] = ops::rms_norm_backward(x, w16, rn16.rstd, g, true);
      REQUIRE(gw16.dtype() == dt);
      r.insert(r.end(), {rn16.out, gx16, gw16});
      const ops::NormResult ln = ops::layer_norm(x, w, b, 1e-5);
      REQUIRE(ln.mean.dtype() == DType::F32);
      const ops::LayerNormGrads lg = ops::layer_norm_backward(x, w, ln.mean, ln.rstd, g, true);
      r.insert(r.end(), {ln.out, ln.mean, ln.rstd, lg.x, lg.weight, lg.bias});
      r.push_back(ops::rope(heads, positions, 10000.0, false));
      r.push_back(ops::rope(heads, positions, 10000.0, true));
      r.push_back(ops::rational(x, num, den, RationalVersion::B));
      const ops::RationalGrads rg = ops::rational_backward(x, num, den, RationalVersion::B, g, true, true);
      REQUIRE(rg.numerator.dtype() == DType::F32);
      r.insert(r.end(), {rg.x, rg.numerator, rg.denominator});
      r.push_back(ops::sum(x));
      r.push_back(ops::amax(x, {1}, true));
      r.push_back(ops::where(cond, x, g));
      r.push_back(ops::swiglu(x, g));
      auto [sg, su] = ops::swiglu_backward(x, g, g);
      r.insert(r.end(), {sg, su, ops::unary(UnaryOp::Silu, x), ops::mul(x, g)});
      return r;
    });
    // the 16-bit tensors that the calls above hand to emulated kernels: fewer if a family widened
    CHECK(native_calls() == 62);
    native_calls() = 0;
    same_bits(widening, direct);
  }
  // the plain table is back
  CHECK(backend_for(Device::CPU).native_f16 == 0);
}
