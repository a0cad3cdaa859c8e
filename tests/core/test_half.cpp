// BF16 and F16 tensors: rounding against PyTorch's (tests/fixtures/half.safetensors, made by
// tests/reference/make_half_fixtures.py), creation, views, refusal by arithmetic kernels, and
// safetensors files that keep them 16-bit.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/backend.h"
#include "core/half.h"
#include "core/ops.h"
#include "core/rng.h"
#include "core/safetensors.h"

using namespace iapt;
namespace fs = std::filesystem;

namespace {

const SafetensorsFile& half_fixture() {
  static const SafetensorsFile f = load_safetensors(std::string(IAPT_FIXTURE_DIR) + "/half.safetensors");
  return f;
}

std::vector<uint16_t> bits_of(const Tensor& t) {
  REQUIRE(is_16bit(t.dtype()));
  Tensor c = t.contiguous();
  std::vector<uint16_t> out(static_cast<size_t>(c.numel()));
  std::memcpy(out.data(), c.raw_data(), out.size() * 2);
  return out;
}

// The first index where the bits differ, or -1; NaN matches any NaN (payloads differ by library).
int64_t first_difference(const Tensor& got, const Tensor& want) {
  const std::vector<uint16_t> g = bits_of(got), w = bits_of(want);
  REQUIRE(g.size() == w.size());
  const std::vector<double> gv = got.to_vector(), wv = want.to_vector();
  for (size_t i = 0; i < g.size(); ++i)
    if (g[i] != w[i] && !(std::isnan(gv[i]) && std::isnan(wv[i]))) return static_cast<int64_t>(i);
  return -1;
}

}  // namespace

TEST_CASE("half: f32 and f64 round to bf16 and f16 to nearest even, bit for bit as PyTorch", "[core][half]") {
  const auto& f = half_fixture().tensors;
  for (const char* source : {"x32", "x64"}) {
    const Tensor& x = f.at(source);
    for (DType target : {DType::BF16, DType::F16}) {
      const std::string want_name = std::string(source) + (target == DType::BF16 ? "_bf16" : "_f16");
      const Tensor& want = f.at(want_name);
      REQUIRE(want.dtype() == target);  // the file's 16-bit tensors load as they are stored
      const Tensor got = x.to(target);
      const int64_t at = first_difference(got, want);
      INFO(want_name << ": first difference at " << at << " (x = " << (at >= 0 ? x.at({at}) : 0.0) << ")");
      CHECK(at == -1);
    }
  }
}

TEST_CASE("half: widening is exact, so a round trip through f32 keeps every 16-bit value", "[core][half]") {
  const auto& f = half_fixture().tensors;
  for (const char* name : {"x32_bf16", "x32_f16"}) {
    const Tensor& h = f.at(name);
    CHECK(first_difference(h.to(DType::F32).to(h.dtype()), h) == -1);
    CHECK(first_difference(h.to(DType::F64).to(h.dtype()), h) == -1);
    // at() widens in core, to_vector() through the copy kernel: the same numbers
    const std::vector<double> v = h.to_vector();
    for (int64_t i = 0; i < h.numel(); i += 37) {
      const double a = h.at({i});
      CHECK((a == v[static_cast<size_t>(i)] || (std::isnan(a) && std::isnan(v[static_cast<size_t>(i)]))));
    }
  }
  CHECK(to_float(BFloat16{0x3fc0}) == 1.5f);
  CHECK(to_float(Float16{0x0001}) == std::ldexp(1.0f, -24));  // the smallest subnormal
  CHECK(std::isnan(to_float(Float16{0x7e00})));
  CHECK(std::isnan(from_vector({NAN}, {1}).to(DType::BF16).item()));
  CHECK(std::isnan(from_vector({NAN}, {1}).to(DType::F16).to(DType::F64).item()));
  CHECK(from_vector({1e6}, {1}).to(DType::F16).item() == INFINITY);  // past 65504
}

TEST_CASE("half: creation, fills, views and casts to i64", "[core][half]") {
  for (DType t : {DType::BF16, DType::F16}) {
    CHECK(dtype_size(t) == 2);
    CHECK(is_floating(t));
    CHECK(zeros({2, 3}, t).to_vector() == std::vector<double>(6, 0.0));
    CHECK(full({2}, -2.5, t).to_vector() == std::vector<double>{-2.5, -2.5});
    CHECK(full({1}, 0.1, t).item() == static_cast<double>(from_vector({0.1}, {1}).to(t).item()));
    // views are dtype-blind: a transposed 16-bit view copies to the transposed values
    Tensor a = arange(6).reshape({2, 3}).to(t);
    CHECK(a.transpose(0, 1).contiguous().to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
    CHECK(a.narrow(1, 1, 2).to(DType::I64).to_vector() == std::vector<double>{1, 2, 4, 5});
    CHECK(from_ints({-3, 7}, {2}).to(t).to_vector() == std::vector<double>{-3, 7});
    // a 16-bit draw is the f32 draw rounded
    manual_seed(11);
    Tensor r16 = randn({64}, t);
    manual_seed(11);
    CHECK(first_difference(r16, randn({64}).to(t)) == -1);
    CHECK(a.to_string().find(dtype_name(t)) != std::string::npos);
  }
}

TEST_CASE("half: 16-bit arithmetic computes in f32 and rounds each result once", "[core][half]") {
  // The 16-bit activations of compute: bf16. Each op's result is the f32 op on the widened inputs,
  // rounded to nearest even: bit for bit, in both 16-bit dtypes.
  manual_seed(12);
  for (DType t : {DType::BF16, DType::F16}) {
    INFO(dtype_name(t));
    const Tensor a = randn({3, 8, 16}).to(t), b = randn({3, 8, 16}).to(t), w = randn({16, 16}).to(t);
    auto same = [&](const Tensor& got, const Tensor& f32_result) {
      REQUIRE(got.dtype() == t);
      CHECK(first_difference(got, f32_result.to(t)) == -1);
    };
    const Tensor a32 = a.to(DType::F32), b32 = b.to(DType::F32), w32 = w.to(DType::F32);
    same(ops::mul(a, b), ops::mul(a32, b32));
    same(ops::unary(UnaryOp::Silu, a), ops::unary(UnaryOp::Silu, a32));
    same(ops::softmax(a, -1), ops::softmax(a32, -1));
    same(ops::matmul(a, w, false, true), ops::matmul(a32, w32, false, true));   // a 2-D weight, as stored
    same(ops::matmul(a, b, false, true), ops::matmul(a32, b32, false, true));   // two activations
    same(ops::swiglu(a, b), ops::swiglu(a32, b32));
    const Tensor norm_w = ops::add_scalar(randn({16}), 1.0);  // an f32 weight beside 16-bit activations
    auto n16 = ops::rms_norm(a, norm_w, 1e-5);
    same(n16.out, ops::rms_norm(a32, norm_w, 1e-5).out);
    CHECK(n16.rstd.dtype() == DType::F32);  // what the backward reads stays f32
    const Tensor bias = randn({16});
    same(ops::layer_norm(a, norm_w, bias, 1e-5).out, ops::layer_norm(a32, norm_w, bias, 1e-5).out);
    // the rational activation with f32 coefficients (IAPT's, trained): its value, and the
    // coefficients' gradients summed in f32 and kept f32
    const Tensor num = randn({4}), den = randn({3});
    same(ops::rational(a, num, den, RationalVersion::B), ops::rational(a32, num, den, RationalVersion::B));
    const auto g16 = ops::rational_backward(a, num, den, RationalVersion::B, b, true, true);
    const auto g32 = ops::rational_backward(a32, num, den, RationalVersion::B, b32, true, true);
    same(g16.x, g32.x);
    REQUIRE(g16.numerator.dtype() == DType::F32);
    CHECK(g16.numerator.to_vector() == g32.numerator.to_vector());
    CHECK(g16.denominator.to_vector() == g32.denominator.to_vector());
  }
  // bf16 on the CPU: the elementwise kernels read and write it in chunks (Native16::Elementwise), over
  // many chunks and both threads here, and fall back to f32 copies where an operand is broadcast:
  // the same bits as the f32 kernels' results rounded.
  {
    const Tensor a = randn({5, 14000}).to(DType::BF16), b = randn({5, 14000}).to(DType::BF16);
    const Tensor a32 = a.to(DType::F32), b32 = b.to(DType::F32), row = randn({14000}).to(DType::BF16);
    auto same = [](const Tensor& got, const Tensor& f32_result) {
      REQUIRE(got.dtype() == DType::BF16);
      CHECK(first_difference(got, f32_result.to(DType::BF16)) == -1);
    };
    same(ops::add(a, b), ops::add(a32, b32));
    same(ops::add(a, row), ops::add(a32, row.to(DType::F32)));  // broadcast
    same(ops::mul(a.transpose(0, 1), b.transpose(0, 1)), ops::mul(a32.transpose(0, 1), b32.transpose(0, 1)));
    same(ops::unary(UnaryOp::Exp, a), ops::unary(UnaryOp::Exp, a32));
    same(ops::unary_backward(UnaryOp::Silu, a, Tensor(), b), ops::unary_backward(UnaryOp::Silu, a32, Tensor(), b32));
    same(ops::swiglu(a, b), ops::swiglu(a32, b32));
    auto [gg, gu] = ops::swiglu_backward(a, b, a);
    auto [gg32, gu32] = ops::swiglu_backward(a32, b32, a32);
    same(gg, gg32);
    same(gu, gu32);
  }
  // Sums accumulate in f32: 1000 ones make 1000 (representable in bf16), where adding in bf16 would
  // stop at 256, whose next value is 258.
  CHECK(ops::sum(ones({1000}, DType::BF16)).to(DType::F32).item() == 1000.0);
  // Operands of different dtypes are refused; autograd's functions cast the f32 side first.
  const Tensor h = ones({2, 2}, DType::BF16);
  CHECK_THROWS_WITH(ops::add(h, ones({2, 2})), Catch::Contains("bf16 and f32 differ"));
  CHECK_THROWS_WITH(ops::matmul(h, ones({2, 2}, DType::F16)), Catch::Contains("bf16") && Catch::Contains("f16"));
}

TEST_CASE("half: safetensors files keep BF16 and F16 as stored, mapped, and write them back", "[core][half][safetensors]") {
  const fs::path dir = fs::temp_directory_path() / "iapt_tests";
  fs::create_directories(dir);
  const fs::path p = dir / "half_roundtrip.safetensors";
  const auto& f = half_fixture().tensors;
  save_safetensors(p.string(), {{"b", f.at("x32_bf16")}, {"h", f.at("x32_f16")}, {"w", f.at("x32")}});
  const AllocatorStats before = allocator_stats(Device::CPU);
  SafetensorsFile back = load_safetensors(p.string());
  // nothing allocated: every tensor aliases the mapped file
  CHECK(allocator_stats(Device::CPU).live_bytes == before.live_bytes);
  CHECK(back.stored_dtypes.at("b") == "BF16");
  CHECK(back.stored_dtypes.at("h") == "F16");
  REQUIRE(back.tensors.at("b").dtype() == DType::BF16);
  REQUIRE(back.tensors.at("h").dtype() == DType::F16);
  CHECK(bits_of(back.tensors.at("b")) == bits_of(f.at("x32_bf16")));
  CHECK(bits_of(back.tensors.at("h")) == bits_of(f.at("x32_f16")));
}
