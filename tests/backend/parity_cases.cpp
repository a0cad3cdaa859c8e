// The parity cases: every op of the engine, forward and backward, on several shapes (small,
// broadcast, non-contiguous, and large enough to span many blocks), plus random numbers, dropout
// masks, a whole attention + SwiGLU block, and the allocator's steady state.
#include <cmath>

#include "autograd/functions.h"
#include "core/backend.h"
#include "core/ops.h"
#include "nn/rational_fit.h"
#include "optim/optimizer.h"
#include "tests/backend/parity.h"

namespace iapt::parity {

std::vector<Case>& registry() {
  static std::vector<Case> r;
  return r;
}
std::vector<Check>& checks() {
  static std::vector<Check> c;
  return c;
}

namespace {

enum class Kind { Normal, Positive, AwayFromZero };

struct Spec {
  Shape shape;
  Kind kind = Kind::Normal;
  bool transposed = false;      // stored transposed in its last two axes (non-contiguous)
  std::vector<double> values{};  // given values instead of random ones
};

Spec S(Shape s, Kind k = Kind::Normal) { return {std::move(s), k, false}; }
Spec T(Shape s, Kind k = Kind::Normal) { return {std::move(s), k, true}; }

// The same numbers on every device: drawn on the CPU in f64 from (seed, index), then cast and moved.
Tensor make_input(const Spec& spec, uint64_t seed, Device dev, DType dt) {
  if (!spec.values.empty()) return from_vector(spec.values, spec.shape, dt).to(dev);
  Shape storage_shape = spec.shape;
  if (spec.transposed) std::swap(storage_shape[storage_shape.size() - 1], storage_shape[storage_shape.size() - 2]);
  Tensor t = empty(storage_shape, DType::F64);
  backend_for(Device::CPU).normal(t, seed, 0);
  if (spec.kind == Kind::Positive) t = ops::add_scalar(ops::unary(UnaryOp::Abs, t), 0.2);
  if (spec.kind == Kind::AwayFromZero) t = ops::add(t, ops::mul_scalar(ops::unary(UnaryOp::Sign, t), 0.2));
  t = t.to(dt).to(dev);
  return spec.transposed ? t.transpose(-1, -2) : t;
}

uint64_t seed_of(const std::string& name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

using Fn = std::function<std::vector<Variable>(const std::vector<Variable>&)>;

constexpr Tolerance kF64{1e-10, 1e-12};
constexpr Tolerance kF32{1e-5, 1e-6};

// The outputs ("out0", ...) and the leaves' gradients ("grad0", ...) under a loss that weighs each
// output by seeded values of its own dtype (each term summed into f32 where the output is 16-bit).
Results outputs_and_gradients(const std::vector<Variable>& outs, const std::vector<Variable>& leaves, uint64_t seed,
                              Device dev) {
  Results r;
  Variable loss;
  for (size_t k = 0; k < outs.size(); ++k) {
    r["out" + std::to_string(k)] = outs[k].data().to(Device::CPU);
    Tensor gout = make_input(S(outs[k].shape()), seed + 1000 + k, dev, outs[k].dtype());
    Variable term = sum(mul(outs[k], Variable(gout)));
    if (is_16bit(term.dtype())) term = cast(term, DType::F32);
    loss = k == 0 ? term : add(loss, term);
  }
  loss.backward();
  for (size_t i = 0; i < leaves.size(); ++i)
    if (leaves[i].grad().defined()) r["grad" + std::to_string(i)] = leaves[i].grad().to(Device::CPU);
  return r;
}

void add_op(const std::string& group, const std::string& name, std::vector<Spec> specs, Fn fn,
            Tolerance f32 = kF32, Tolerance f64 = kF64) {
  Case c;
  c.group = group;
  c.name = name;
  c.f32 = f32;
  c.f64 = f64;
  c.run = [name, specs, fn](Device dev, DType dt) {
    const uint64_t seed = seed_of(name);
    std::vector<Variable> vars;
    for (size_t i = 0; i < specs.size(); ++i) vars.emplace_back(make_input(specs[i], seed + 17 * i, dev, dt), true);
    return outputs_and_gradients(fn(vars), vars, seed, dev);
  };
  registry().push_back(std::move(c));
}

std::vector<Variable> one(Variable v) { return {std::move(v)}; }

// An op on 16-bit activations (compute: bf16 or f16), run in both 16-bit types: the inputs marked
// in `f32_inputs` (a norm's weight, the rational's coefficients: trained parameters) stay f32. The
// CPU widens 16-bit inputs to f32 for most ops and rounds the result; CUDA's kernels read and write
// the 16-bit values themselves, computing in f32. The two f32 results before rounding differ by
// their summation orders and math libraries (about 1e-7 relative), so a rounded result may differ by
// one unit in the last place: 2^-8 to 2^-7 of it in bf16, 2^-11 to 2^-10 in f16. The backward reads
// the rounded forward result, which widens the spread where a gradient cancels.
void add_op16(const std::string& group, const std::string& name, std::vector<Spec> specs, std::vector<bool> f32_inputs,
              Fn fn, Tolerance bf16, Tolerance f16) {
  Case c;
  c.group = group;
  c.name = name;
  c.dtypes = {DType::BF16, DType::F16};
  c.bf16 = bf16;
  c.f16 = f16;
  f32_inputs.resize(specs.size(), false);
  c.run = [name, specs, f32_inputs, fn](Device dev, DType dt) {
    const uint64_t seed = seed_of(name);
    // 16-bit tensors cannot require grad: the leaves are f32, rounded into the op by cast(), whose
    // backward widens the 16-bit gradient exactly
    std::vector<Variable> vars, inputs;
    for (size_t i = 0; i < specs.size(); ++i) {
      vars.emplace_back(make_input(specs[i], seed + 17 * i, dev, DType::F32), true);
      inputs.push_back(f32_inputs[i] ? vars[i] : cast(vars[i], dt));
    }
    const std::vector<Variable> outs = fn(inputs);
    for (size_t k = 0; k < outs.size(); ++k)  // a loss may be f32, nothing else
      if (!is_16bit(outs[k].dtype()) && outs[k].data().numel() > 1)
        throw Error(fmt::format("output {} is {}, not 16-bit", k, dtype_name(outs[k].dtype())));
    return outputs_and_gradients(outs, vars, seed, dev);
  };
  registry().push_back(std::move(c));
}

void add_raw(const std::string& group, const std::string& name, bool exact, Tolerance f32, Tolerance f64,
             std::function<Results(Device, DType)> run);

void gemm_cases() {
  const Tolerance f32{1e-4, 1e-5};
  const Tolerance f64{1e-10, 1e-10};
  // A frozen 16-bit weight. The CPU keeps the activations f32 and widens the weight; CUDA rounds
  // them to the weight's type for cuBLAS's tensor cores (GemmEx, f32 accumulation). The outputs,
  // of size sqrt(3000) = 55, then differ by the rounding of 3000 activations (2^-9 of each in
  // bf16, 2^-12 in f16): about 0.06 at one standard deviation, hence atol 0.5 (1% of their scale).
  // The loss weighs the outputs by small integers, exact in 16 bits, so the input gradient's
  // product rounds nothing and agrees to f32's summation order (well inside that tolerance).
  add_raw("gemm", "matmul x W^T and its input gradient, W bf16 and f16 [96, 3000]", false, {1e-2, 0.5}, f64,
          [](Device dev, DType dt) {
            Results r;
            for (DType h : {DType::BF16, DType::F16}) {
              const Tensor w = make_input(S({96, 3000}), 31, dev, DType::F32).to(h);
              Variable x(make_input(S({4, 20, 3000}), 32, dev, dt), true);
              Variable y = matmul(x, Variable(w), false, true);  // [4, 20, 96]
              std::vector<double> small(4 * 20 * 96);
              for (size_t i = 0; i < small.size(); ++i) small[i] = static_cast<double>(i * 7 % 5) - 2.0;  // -2 .. 2
              const Tensor weights = from_vector(small, {4, 20, 96}, dt).to(dev);
              sum(mul(y, Variable(weights))).backward();
              r[std::string(dtype_name(h)) + " out"] = y.data().to(Device::CPU);
              r[std::string(dtype_name(h)) + " grad x"] = x.grad().to(Device::CPU);
            }
            return r;
          });
  add_op("gemm", "matmul 2-D", {S({33, 70}), S({70, 45})}, [](auto& v) { return one(matmul(v[0], v[1])); }, f32, f64);
  add_op("gemm", "matmul x W^T, 3-D x (folded)", {S({4, 50, 96}), S({80, 96})},
         [](auto& v) { return one(matmul(v[0], v[1], false, true)); }, f32, f64);
  add_op("gemm", "matmul batched A^T B^T", {S({3, 40, 30}), S({3, 20, 40})},
         [](auto& v) { return one(matmul(v[0], v[1], true, true)); }, f32, f64);
  add_op("gemm", "matmul broadcast batch (strided)", {S({2, 1, 16, 24}), S({3, 24, 8})},
         [](auto& v) { return one(matmul(v[0], v[1])); }, f32, f64);
  add_op("gemm", "matmul non-contiguous operands", {T({5, 31, 17}), T({17, 9})},
         [](auto& v) { return one(matmul(v[0], v[1])); }, f32, f64);
  // K up to 640 with outputs near 25: two summation orders differ by ~1.5e-4 absolute near zero
  add_op("gemm", "matmul large", {S({512, 384}), S({384, 640})}, [](auto& v) { return one(matmul(v[0], v[1])); },
         {2e-4, 5e-4}, f64);
}

void elementwise_cases() {
  for (auto [name, shapes] : std::vector<std::pair<std::string, std::vector<Spec>>>{
           {"broadcast [3,1,5] x [4,5]", {S({3, 1, 5}), S({4, 5})}},
           {"large [300,1000] x [1000]", {S({300, 1000}), S({1000})}},
           {"non-contiguous [40,60]", {T({40, 60}), S({40, 1})}}}) {
    add_op("elementwise", "add " + name, shapes, [](auto& v) { return one(add(v[0], v[1])); });
    add_op("elementwise", "sub " + name, shapes, [](auto& v) { return one(sub(v[0], v[1])); });
    add_op("elementwise", "mul " + name, shapes, [](auto& v) { return one(mul(v[0], v[1])); });
    std::vector<Spec> pos = shapes;
    pos[1].kind = Kind::Positive;
    add_op("elementwise", "div " + name, pos, [](auto& v) { return one(div(v[0], v[1])); });
  }
  add_op("elementwise", "scalar ops", {S({1000})}, [](auto& v) { return one(mul_scalar(add_scalar(v[0], 0.5), -2.0)); });
}

void unary_cases() {
  struct U {
    const char* name;
    Kind kind;
    std::function<Variable(const Variable&)> f;
  };
  std::vector<U> ops_list{
      {"neg", Kind::Normal, [](auto& x) { return neg(x); }},
      {"exp", Kind::Normal, [](auto& x) { return exp(x); }},
      {"log", Kind::Positive, [](auto& x) { return log(x); }},
      {"sqrt", Kind::Positive, [](auto& x) { return sqrt(x); }},
      {"rsqrt", Kind::Positive, [](auto& x) { return rsqrt(x); }},
      {"pow 2.5", Kind::Positive, [](auto& x) { return pow(x, 2.5); }},
      {"abs", Kind::AwayFromZero, [](auto& x) { return abs(x); }},
      {"sign", Kind::AwayFromZero, [](auto& x) { return sign(x); }},
      {"tanh", Kind::Normal, [](auto& x) { return tanh(x); }},
      {"sigmoid", Kind::Normal, [](auto& x) { return sigmoid(x); }},
      {"relu", Kind::AwayFromZero, [](auto& x) { return relu(x); }},
      {"gelu erf", Kind::Normal, [](auto& x) { return gelu(x, GeluApprox::Erf); }},
      {"gelu tanh", Kind::Normal, [](auto& x) { return gelu(x, GeluApprox::Tanh); }},
      {"silu", Kind::Normal, [](auto& x) { return silu(x); }},
  };
  for (const auto& u : ops_list) {
    auto f = u.f;
    add_op("unary", std::string(u.name) + " [64,513]", {S({64, 513}, u.kind)}, [f](auto& v) { return one(f(v[0])); });
    add_op("unary", std::string(u.name) + " transposed [7,9]", {T({7, 9}, u.kind)},
           [f](auto& v) { return one(f(v[0])); });
  }
}

void reduce_cases() {
  const Tolerance f32{1e-5, 1e-5};
  add_op("reduce", "sum all [300,700]", {S({300, 700})}, [](auto& v) { return one(sum(v[0])); }, f32);
  add_op("reduce", "sum axes 0,2 keepdim", {S({6, 7, 300})}, [](auto& v) { return one(sum(v[0], {0, 2}, true)); }, f32);
  add_op("reduce", "sum leading axis (bias grad shape)", {S({512, 96})}, [](auto& v) { return one(sum(v[0], {0})); }, f32);
  add_op("reduce", "mean axis 1 non-contiguous", {T({5, 40, 30})}, [](auto& v) { return one(mean(v[0], {1})); }, f32);
  add_op("reduce", "max last axis", {S({40, 1000})}, [](auto& v) { return one(amax(v[0], {-1})); }, f32);
  add_op("reduce", "max axes keepdim", {S({4, 5, 6})}, [](auto& v) { return one(amax(v[0], {0, 2}, true)); }, f32);
}

void softmax_cases() {
  add_op("softmax", "softmax last axis [64,32000]", {S({64, 32000})}, [](auto& v) { return one(softmax(v[0], -1)); });
  add_op("softmax", "softmax inner axis [8,50,30]", {S({8, 50, 30})}, [](auto& v) { return one(softmax(v[0], 1)); });
  add_op("softmax", "log_softmax last axis [100,777]", {S({100, 777})},
         [](auto& v) { return one(log_softmax(v[0], -1)); });
  add_op("softmax", "log_softmax first axis, transposed", {T({30, 20})}, [](auto& v) { return one(log_softmax(v[0], 0)); });
}

void loss_and_lookup_cases() {
  Tensor targets = [] {
    std::vector<int64_t> t(300);
    for (int64_t i = 0; i < 300; ++i) t[i] = i % 7 == 3 ? -100 : (i * 37) % 1000;
    return from_ints(t, {300});
  }();
  add_op("cross_entropy", "cross_entropy [300,1000] with ignored rows", {S({300, 1000})},
         [targets](auto& v) { return one(cross_entropy(v[0], targets, -100)); }, {1e-5, 1e-6});
  Tensor few = from_ints({2, -100, 0, 4, -100, 1}, {6});
  add_op("cross_entropy", "cross_entropy small, transposed logits", {T({6, 5})},
         [few](auto& v) { return one(cross_entropy(v[0], few, -100)); });
  Tensor ids = [] {
    std::vector<int64_t> t(4 * 64);
    for (int64_t i = 0; i < 256; ++i) t[i] = (i * 13) % 50;  // many repeats
    return from_ints(t, {4, 64});
  }();
  add_op("embedding", "embedding with repeated ids", {S({50, 96})},
         [ids](auto& v) { return one(embedding(v[0], ids)); }, {1e-5, 1e-5});
}

void assembly_cases() {
  add_op("assembly", "concat axis 1", {S({20, 30}), T({20, 17})}, [](auto& v) { return one(concat({v[0], v[1], v[0]}, 1)); });
  add_op("assembly", "split and narrow", {S({9, 40})}, [](auto& v) { return split(v[0], {10, 25, 5}, 1); });
  add_op("assembly", "stack axis 1", {S({6, 8}), S({6, 8})}, [](auto& v) { return one(stack({v[0], v[1]}, 1)); });
  add_op("assembly", "permute, reshape, expand", {S({4, 6, 8}), S({6, 1})},
         [](auto& v) { return one(mul(reshape(permute(v[0], {2, 0, 1}), {8, 24}), reshape(expand(v[1], {6, 4}), {1, 24}))); });
  Tensor cond = from_ints({1, 0, 1, 1, 0}, {5, 1});
  add_op("assembly", "where broadcast", {S({5, 40}), S({1, 40})}, [cond](auto& v) { return one(where(cond, v[0], v[1])); });
  Tensor mask = [] {
    std::vector<int64_t> m(12 * 40);
    for (size_t i = 0; i < m.size(); ++i) m[i] = (i * 7) % 3 == 0;
    return from_ints(m, {12, 40});
  }();
  add_op("assembly", "masked_fill", {S({3, 12, 40})}, [mask](auto& v) { return one(masked_fill(v[0], mask, -7.5)); });
}

void norm_cases() {
  add_op("norms", "rms_norm [512,768]", {S({512, 768}), S({768})}, [](auto& v) { return one(rms_norm(v[0], v[1], 1e-5)); },
         {1e-5, 1e-5});
  add_op("norms", "rms_norm non-contiguous [3,20,16]", {T({3, 20, 16}), S({16})},
         [](auto& v) { return one(rms_norm(v[0], v[1], 1e-6)); });
  add_op("norms", "layer_norm [256,1000]", {S({256, 1000}), S({1000}), S({1000})},
         [](auto& v) { return one(layer_norm(v[0], v[1], v[2], 1e-5)); }, {1e-5, 1e-5});
}

void rope_cases() {
  Tensor shared = [] {
    std::vector<int64_t> p(37);
    for (int64_t i = 0; i < 37; ++i) p[i] = 3 * i + 1;
    return from_ints(p, {37});
  }();
  add_op("rope", "rope shared positions [2,4,37,64]", {S({2, 4, 37, 64})},
         [shared](auto& v) { return one(rope(v[0], shared, 10000.0)); });
  Tensor per_row = from_ints({5, 6, 7, 8, 9, 0, 0, 1, 2, 3}, {2, 5});
  add_op("rope", "rope per-row positions, non-contiguous", {S({2, 5, 3, 8})},
         [per_row](auto& v) { return one(rope(transpose(v[0], 1, 2), per_row, 500000.0)); });
}

void attention_cases() {
  Tensor pad = from_ints({1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1}, {2, 6});
  add_op("attention", "causal + padding [2,4,6,16]", {S({2, 4, 6, 16}), S({2, 4, 6, 16}), S({2, 4, 6, 16})},
         [pad](auto& v) { return one(scaled_dot_product_attention(v[0], v[1], v[2], true, pad)); }, {1e-4, 1e-5});
  add_op("attention", "causal, queries after a prefix [1,2,3,8] x 7 keys", {S({1, 2, 3, 8}), S({1, 2, 7, 8}), S({1, 2, 7, 8})},
         [](auto& v) { return one(scaled_dot_product_attention(v[0], v[1], v[2], true)); }, {1e-4, 1e-5});
  add_op("attention", "causal [2,8,128,64]", {S({2, 8, 128, 64}), S({2, 8, 128, 64}), S({2, 8, 128, 64})},
         [](auto& v) { return one(scaled_dot_product_attention(v[0], v[1], v[2], true)); }, {1e-4, 1e-5});
  // attention(): the CPU's fused kernel against CUDA's composition over repeated key/value heads.
  add_op("attention", "fused GQA, causal + padding [2,4,6,16] x 2 kv heads",
         {S({2, 4, 6, 16}), S({2, 2, 6, 16}), S({2, 2, 6, 16})},
         [pad](auto& v) { return one(attention(v[0], v[1], v[2], true, pad)); }, {1e-4, 1e-5});
  add_op("attention", "fused, queries after a prefix [1,4,3,8] x 7 keys", {S({1, 4, 3, 8}), S({1, 4, 7, 8}), S({1, 4, 7, 8})},
         [](auto& v) { return one(attention(v[0], v[1], v[2], true)); }, {1e-4, 1e-5});
}

void rational_cases() {
  for (auto v : {RationalVersion::A, RationalVersion::B, RationalVersion::C, RationalVersion::N}) {
    const nn::RationalFit fit = nn::fit_rational("gelu", 6, 5, v);
    std::vector<double> num = fit.numerator, den = fit.denominator;
    Spec a{{static_cast<int64_t>(num.size())}, Kind::Normal, false, num};
    Spec b{{static_cast<int64_t>(den.size())}, Kind::Normal, false, den};
    add_op("rational", std::string("rational ") + nn::rational_version_name(v) + " (6,5), [64,1000] and coefficients",
           {S({64, 1000}), a, b}, [v](auto& in) { return one(rational(in[0], in[1], in[2], v)); }, {1e-5, 1e-5},
           {1e-10, 1e-10});
  }
}

// Every family of kernels on 16-bit activations (Native16 in core/backend.h). The tolerances are
// those of add_op16's comment: rtol two units in the last place, atol the same share of the
// results' typical size (about 1 here, except where a comment says). Calibrated on the CPU against
// the same cases computed with f64 in place of f32 before rounding (a spread like the GPU's): the
// worst element used 0.61 of these tolerances.
void half_cases() {
  const Tolerance b{1.6e-2, 1.6e-2}, h{2e-3, 2e-3};
  const std::vector<bool> none;
  add_op16(
      "elementwise", "add, mul, div broadcast [3,1,5] x [4,5]", {S({3, 1, 5}), S({4, 5}, Kind::Positive)}, none,
      [](auto& v) {
        return std::vector<Variable>{add(v[0], v[1]), mul(v[0], v[1]), div(v[0], v[1])};
      },
      b, h);
  add_op16(
      "elementwise", "exp, silu, gelu tanh [64,513]", {S({64, 513})}, none,
      [](auto& v) {
        return std::vector<Variable>{exp(v[0]), silu(v[0]), gelu(v[0], GeluApprox::Tanh)};
      },
      b, h);
  add_op16(
      "elementwise", "rsqrt, log transposed [7,9]", {T({7, 9}, Kind::Positive)}, none,
      [](auto& v) {
        return std::vector<Variable>{rsqrt(v[0]), log(v[0])};
      },
      b, h);
  add_op16(
      "elementwise", "swiglu [300,1000]", {S({300, 1000}), S({300, 1000})}, none,
      [](auto& v) { return one(swiglu(v[0], v[1])); }, b, h);
  Tensor cond = from_ints({1, 0, 1, 1, 0}, {5, 1});
  add_op16("assembly", "where broadcast", {S({5, 40}), S({1, 40})}, none,
           [cond](auto& v) { return one(where(cond, v[0], v[1])); }, {0, 0}, {0, 0});
  // sums of 700 values of size 1: about 26, where a bf16 unit is 0.125
  add_op16("reduce", "sum all, sum axes, mean, max", {S({30, 70}), T({5, 40, 30})}, none,
           [](auto& v) {
             return std::vector<Variable>{sum(v[0]), sum(v[0], {0}, true), mean(v[1], {1}), amax(v[1], {-1})};
           },
           {1.6e-2, 5e-2}, {2e-3, 6e-3});
  add_op16(
      "softmax", "softmax and log_softmax [64,3000]", {S({64, 3000})}, none,
      [](auto& v) {
        return std::vector<Variable>{softmax(v[0], -1), log_softmax(v[0], -1)};
      },
      b, h);
  add_op16(
      "softmax", "softmax inner axis [8,50,30]", {S({8, 50, 30})}, none, [](auto& v) { return one(softmax(v[0], 1)); },
      b, h);
  Tensor targets = [] {
    std::vector<int64_t> t(300);
    for (int64_t i = 0; i < 300; ++i) t[i] = i % 7 == 3 ? -100 : (i * 37) % 1000;
    return from_ints(t, {300});
  }();
  // the loss is f32, its gradient a softmax over 1000 divided by 257 counted rows: about 4e-6, which
  // f16 holds as a subnormal, in steps of 6e-8
  add_op16("cross_entropy", "cross_entropy [300,1000] with ignored rows", {S({300, 1000})}, none,
           [targets](auto& v) { return one(cross_entropy(v[0], targets, -100)); }, {1.6e-2, 1e-7}, {2e-3, 2e-7});
  Tensor ids = [] {
    std::vector<int64_t> t(4 * 64);
    for (int64_t i = 0; i < 256; ++i) t[i] = (i * 13) % 50;
    return from_ints(t, {4, 64});
  }();
  add_op16(
      "embedding", "embedding of a 16-bit table", {S({50, 96})}, none,
      [ids](auto& v) { return one(embedding(v[0], ids)); }, b, h);
  add_op16(
      "norms", "rms_norm [512,768], f32 weight", {S({512, 768}), S({768})}, {false, true},
      [](auto& v) { return one(rms_norm(v[0], v[1], 1e-5)); }, b, h);
  add_op16(
      "norms", "rms_norm [64,256], 16-bit weight", {S({64, 256}), S({256})}, none,
      [](auto& v) { return one(rms_norm(v[0], v[1], 1e-5)); }, b, h);
  add_op16(
      "norms", "layer_norm [256,1000], f32 weight and bias", {S({256, 1000}), S({1000}), S({1000})},
      {false, true, true}, [](auto& v) { return one(layer_norm(v[0], v[1], v[2], 1e-5)); }, b, h);
  Tensor shared = [] {
    std::vector<int64_t> p(37);
    for (int64_t i = 0; i < 37; ++i) p[i] = 3 * i + 1;
    return from_ints(p, {37});
  }();
  add_op16(
      "rope", "rope shared positions [2,4,37,64]", {S({2, 4, 37, 64})}, none,
      [shared](auto& v) { return one(rope(v[0], shared, 10000.0)); }, b, h);
  for (auto version : {RationalVersion::B, RationalVersion::N}) {
    const nn::RationalFit fit = nn::fit_rational("gelu", 6, 5, version);
    Spec num{{static_cast<int64_t>(fit.numerator.size())}, Kind::Normal, false, fit.numerator};
    Spec den{{static_cast<int64_t>(fit.denominator.size())}, Kind::Normal, false, fit.denominator};
    // the coefficients' gradients are sums over 64,000 elements in f32
    add_op16(
        "rational",
        std::string("rational ") + nn::rational_version_name(version) + " (6,5) [64,1000], f32 coefficients",
        {S({64, 1000}), num, den}, {false, true, true},
        [version](auto& in) { return one(rational(in[0], in[1], in[2], version)); }, b, h);
  }
  // K 96: outputs near 10, a bf16 unit 0.06
  add_op16(
      "gemm", "matmul batched [3,40,30] x [3,30,20] and x W^T [4,50,96] x [80,96]",
      {S({3, 40, 30}), S({3, 30, 20}), S({4, 50, 96}), S({80, 96})}, none,
      [](auto& v) {
        return std::vector<Variable>{matmul(v[0], v[1]), matmul(v[2], v[3], false, true)};
      },
      b, h);
  Tensor pad = from_ints({1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1}, {2, 6});
  add_op16(
      "attention", "fused GQA, causal + padding [2,4,6,16] x 2 kv heads",
      {S({2, 4, 6, 16}), S({2, 2, 6, 16}), S({2, 2, 6, 16})}, none,
      [pad](auto& v) { return one(attention(v[0], v[1], v[2], true, pad)); }, b, h);
}

// A case that compares what `run` returns directly (no op inputs, no backward of its own).
void add_raw(const std::string& group, const std::string& name, bool exact, Tolerance f32, Tolerance f64,
             std::function<Results(Device, DType)> run) {
  Case c;
  c.group = group;
  c.name = name;
  c.exact = exact;
  c.f32 = f32;
  c.f64 = f64;
  c.run = std::move(run);
  registry().push_back(std::move(c));
}

void random_cases() {
  add_raw("random", "uniform: same counters, same numbers", true, {0, 0}, {0, 0}, [](Device dev, DType dt) {
    Tensor t = empty({1000003}, dt, dev);
    backend_for(dev).uniform(t, 1234, 99);
    return Results{{"uniform", t.to(Device::CPU)}};
  });
  add_raw("random", "normal: same counters, same numbers", false, {1e-6, 1e-6}, {1e-12, 1e-12}, [](Device dev, DType dt) {
    Tensor t = empty({1000003}, dt, dev);
    backend_for(dev).normal(t, 77, 5);
    return Results{{"normal", t.to(Device::CPU)}};
  });
  add_raw("random", "dropout: one seed, one mask", true, {0, 0}, {0, 0}, [](Device dev, DType dt) {
    Generator g(2024);
    Variable x(ones({500, 300}, dt, dev), true);
    Variable y = dropout(x, 0.1, true, g);
    sum(y).backward();
    return Results{{"out", y.data().to(Device::CPU)}, {"grad", x.grad().to(Device::CPU)}};
  });
  add_raw("random", "host/device round trip and strided copy", true, {0, 0}, {0, 0}, [](Device dev, DType dt) {
    Tensor base = make_input(S({30, 40}), 5, Device::CPU, dt).to(dev);
    Tensor strided = base.transpose(0, 1).narrow(0, 3, 20).contiguous();  // copy kernel with strides
    Tensor cast = strided.to(dt == DType::F32 ? DType::F64 : DType::F32);
    return Results{{"strided", strided.to(Device::CPU)}, {"cast", cast.to(Device::CPU)}};
  });
  // Both backends round to nearest even through f32 (ties and a hair past them included) and widen
  // exactly; non-finite values are left out, which the comparison refuses.
  add_raw("random", "bf16 and f16: rounding, widening, strided copies and fills", true, {0, 0}, {0, 0},
          [](Device dev, DType dt) {
            const std::vector<double> ties{1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-11, 1 + 3 * 0x1p-11, 1 + 0x1p-8 + 0x1p-40,
                                           -(1 + 0x1p-8), 65504, 65519, 0x1p-24, 3 * 0x1p-25, 0x1p-26, 0.1};
            Tensor spread = ops::mul_scalar(make_input(S({30, 40}), 9, Device::CPU, dt), 300.0).to(dev);
            Tensor tie = from_vector(ties, {static_cast<int64_t>(ties.size())}, dt).to(dev);
            Results r;
            for (DType h : {DType::BF16, DType::F16}) {
              const std::string n = dtype_name(h);
              Tensor narrow = spread.transpose(0, 1).to(h);  // strided source
              r[n + " narrow"] = narrow.to(Device::CPU);
              r[n + " widen"] = narrow.transpose(0, 1).to(dt).to(Device::CPU);  // strided 16-bit source
              r[n + " ties"] = tie.to(h).to(Device::CPU);
              r[n + " fill"] = full({3, 5}, 0.1, h, dev).to(Device::CPU);
              r[n + " to i64"] = narrow.to(DType::I64).to(Device::CPU);
            }
            return r;
          });
}

// The fused kernels the CPU has and CUDA composes: SwiGLU here, attention above.
void fused_cases() {
  add_op("elementwise", "swiglu [6, 40]", {S({6, 40}), S({6, 40})}, [](auto& v) { return one(swiglu(v[0], v[1])); });
}

// Three optimizer steps from the same gradients: the CPU's fused Adam kernel against CUDA's
// composition from ops, with the L2 decay (Adam) and the decoupled one (AdamW).
void optimizer_cases() {
  for (bool decoupled : {false, true}) {
    add_raw("optim", decoupled ? "AdamW: three steps" : "Adam with L2 decay: three steps", false, kF32, kF64,
            [decoupled](Device dev, DType dt) {
              Variable p(make_input(S({37, 19}), 11, dev, dt), true);
              optim::AdamOptions o;
              o.lr = 1e-2;
              o.weight_decay = 0.1;
              optim::Adam adam({optim::ParamGroup{"all", {p}, o.lr, o.weight_decay}}, o, decoupled);
              for (uint64_t s = 0; s < 3; ++s) {
                adam.zero_grad();
                sum(mul(p, Variable(make_input(S({37, 19}), 20 + s, dev, dt)))).backward();
                adam.step();
              }
              return Results{{"param", p.data().to(Device::CPU)}};
            });
  }
}

// A pre-norm attention + SwiGLU block with a loss: whole-model parity in one case. `fused` takes
// the fused attention and SwiGLU (else their compositions); `bf16_activations` computes in bf16 from
// the embedding on (compute: bf16, the weights rounded where they meet the activations).
std::vector<Variable> block(const std::vector<Variable>& w, const Tensor& ids, const Tensor& mask, const Tensor& labels,
                            bool fused = false, bool bf16_activations = false) {
  const int64_t b = ids.size(0), t = ids.size(1), d = w[0].size(1), heads = 4, hd = d / heads;
  const Tensor pos = arange(t, DType::I64);
  Variable x = embedding(w[0], ids);
  if (bf16_activations) x = cast(x, DType::BF16);
  Variable a = rms_norm(x, w[1], 1e-5);
  auto split_heads = [&](const Variable& wt) {
    return transpose(reshape(matmul(a, wt, false, true), {b, t, heads, hd}), 1, 2);
  };
  Variable q = rope(split_heads(w[2]), pos, 10000.0), k = rope(split_heads(w[3]), pos, 10000.0), v = split_heads(w[4]);
  Variable att = fused ? attention(q, k, v, true, mask) : scaled_dot_product_attention(q, k, v, true, mask);
  Variable h = x + matmul(reshape(transpose(att, 1, 2), {b, t, d}), w[5], false, true);
  Variable m = rms_norm(h, w[6], 1e-5);
  Variable gate = matmul(m, w[7], false, true), up = matmul(m, w[8], false, true);
  Variable f = matmul(fused ? swiglu(gate, up) : silu(gate) * up, w[9], false, true);
  Variable logits = matmul(rms_norm(h + f, w[10], 1e-5), w[0], false, true);
  Variable loss = cross_entropy(reshape(logits, {b * t, -1}), labels.reshape({b * t}), -100);
  return {loss, logits};
}

void model_cases() {
  const int64_t v = 500, d = 64, ffn = 172, b = 4, t = 32;
  std::vector<int64_t> id(b * t), mk(b * t), lb(b * t);
  for (int64_t i = 0; i < b * t; ++i) {
    id[i] = (i * 31 + 7) % v;
    mk[i] = (i / t == 1 && i % t < 5) ? 0 : 1;
    lb[i] = mk[i] ? (i * 17) % v : -100;
  }
  Tensor ids = from_ints(id, {b, t}), mask = from_ints(mk, {b, t}), labels = from_ints(lb, {b, t});
  std::vector<Spec> specs{S({v, d}), S({d}), S({d, d}), S({d, d}), S({d, d}), S({d, d}),
                          S({d}),    S({ffn, d}), S({ffn, d}), S({d, ffn}), S({d})};
  add_op("model", "attention + SwiGLU block with loss", specs,
         [ids, mask, labels](auto& w) { return block(w, ids, mask, labels); }, {2e-4, 2e-5}, {1e-9, 1e-11});

  // compute: bf16 — the block's activations bf16 from the embedding on, its f32 weights rounded to
  // bf16 where they meet them (autograd's rule), each op computing in f32 and rounding its result.
  // Both backends round the same f32 results, so they differ where a summation order moves a value
  // across a rounding boundary: a bf16 step (2^-8 relative) that the layers after it carry on.
  add_raw("model", "attention + SwiGLU block with bf16 activations", false, {5e-2, 5e-2}, {5e-2, 5e-2},
          [=](Device dev, DType) {
            std::vector<Variable> w;
            for (size_t i = 0; i < specs.size(); ++i) w.emplace_back(make_input(specs[i], 60 + i, dev, DType::F32), true);
            const std::vector<Variable> out = block(w, ids, mask, labels, /*fused=*/true, /*bf16_activations=*/true);
            const Variable &loss = out[0], &logits = out[1];
            if (logits.dtype() != DType::BF16) throw Error("the block's logits are not bf16");
            loss.backward();
            Results r{{"loss", loss.data().to(Device::CPU)}, {"logits", logits.data().to(DType::F32).to(Device::CPU)}};
            for (size_t i = 0; i < w.size(); ++i) r["grad" + std::to_string(i)] = w[i].grad().to(Device::CPU);
            return r;
          });

  checks().push_back({"model", "allocator: the second training step allocates nothing from the driver", [=]() -> std::string {
    std::vector<Variable> w;
    for (size_t i = 0; i < specs.size(); ++i)
      w.emplace_back(make_input(specs[i], 40 + i, Device::CUDA, DType::F32), true);
    auto step = [&] {
      for (auto& p : w) p.zero_grad();
      block(w, ids, mask, labels)[0].backward();
      backend_for(Device::CUDA).synchronize();
    };
    step();
    const size_t after_first = allocator_stats(Device::CUDA).system_allocations;
    step();
    step();
    const size_t after_third = allocator_stats(Device::CUDA).system_allocations;
    if (after_third != after_first)
      return fmt::format("cudaMalloc calls: {} after the first step, {} after the third", after_first, after_third);
    return "";
  }});
}

}  // namespace

void register_cases() {
  gemm_cases();
  elementwise_cases();
  unary_cases();
  reduce_cases();
  softmax_cases();
  loss_and_lookup_cases();
  assembly_cases();
  norm_cases();
  rope_cases();
  attention_cases();
  fused_cases();
  optimizer_cases();
  rational_cases();
  random_cases();
  model_cases();
  half_cases();
}

}  // namespace iapt::parity
