#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/ops.h"
#include "models/llama.h"
#include "tests/tiny_llama.h"
#include "nn/peft/lora.h"

using namespace iapt;

namespace {
models::LlamaConfig tiny_config() { return testing::tiny_llama_config(2); }
}  // namespace

TEST_CASE("lora: adapters on the chosen projections, named as PEFT names them", "[nn][lora]") {
  models::LlamaForCausalLM m(tiny_config());
  nn::Lora lora({4, 8, 0.0, {"q", "k", "v", "o", "gate", "up", "down"}});
  CHECK(lora.attach(m) == 14);
  std::vector<std::string> names;
  for (auto& [name, p] : lora.named_parameters()) names.push_back(name);
  CHECK(names.front() == "model.layers.0.self_attn.q_proj.lora_A.weight");
  CHECK(std::find(names.begin(), names.end(), "model.layers.1.mlp.down_proj.lora_B.weight") != names.end());
  auto params = lora.named_parameters();
  CHECK(params[0].second.shape() == Shape{4, 16});   // lora_A [r, in]
  CHECK(params[1].second.shape() == Shape{16, 4});   // lora_B [out, r]
  // q: 4 (16 + 16), k and v: 4 (16 + 8), o: 4 (16 + 16), gate/up/down: 4 (16 + 24) -> per layer, two layers
  CHECK(lora.trainable_parameter_count() == 2 * 4 * (32 + 24 + 24 + 32 + 3 * 40));
  CHECK_THROWS_WITH(nn::Lora({4, 8, 0.0, {"qq"}}).attach(m), Catch::Contains("unknown target 'qq'"));
}

TEST_CASE("lora: starts at the frozen model and adds (alpha / r) B A x", "[nn][lora]") {
  manual_seed(41);
  models::LlamaForCausalLM m(tiny_config(), DType::F64);
  Tensor ids = from_ints({1, 5, 9, 3, 7, 2}, {1, 6});
  Tensor before = m.forward(ids).data();
  nn::Lora lora({2, 6, 0.0, {"q", "down"}});
  lora.attach(m, DType::F64);
  CHECK(m.forward(ids).data().to_vector() == before.to_vector());  // B = 0
  // one projection by hand
  auto& q = *m.model->layers[0]->self_attn->q_proj;
  for (auto& [name, p] : lora.named_parameters()) p.data().copy_(randn(p.shape(), DType::F64));
  Variable x(randn({3, 16}, DType::F64));
  auto params = lora.named_parameters();
  Tensor a = params[0].second.data(), b = params[1].second.data();
  Tensor want = ops::add(ops::matmul(x.data(), q.weight.data(), false, true),
                         ops::mul_scalar(ops::matmul(ops::matmul(x.data(), a, false, true), b, false, true), 3.0));
  auto got = q.forward(x).data().to_vector(), w = want.to_vector();
  for (size_t i = 0; i < w.size(); ++i) CHECK(got[i] == Approx(w[i]).epsilon(1e-12));
}

TEST_CASE("lora: gradcheck of every adapter through a tiny frozen LLaMA", "[nn][lora][gradcheck]") {
  manual_seed(42);
  models::LlamaForCausalLM m(tiny_config(), DType::F64);
  m.freeze();
  nn::Lora lora({2, 4, 0.0, {"q", "k", "v", "o", "gate", "up", "down"}});
  lora.attach(m, DType::F64);
  for (auto& [name, p] : lora.named_parameters()) p.data().copy_(ops::mul_scalar(randn(p.shape(), DType::F64), 0.3));
  Tensor ids = from_ints({1, 5, 9, 3, 7, 2, 4, 4}, {2, 4});
  Tensor targets = from_ints({5, 9, 3, -100, 2, 4, 4, -100}, {8});
  auto loss = [&] { return cross_entropy(reshape(m.forward(ids), {8, 30}), targets); };
  GradcheckReport r = gradcheck_parameters(loss, lora.parameters());
  INFO(r.to_string());
  CHECK(r.ok);
  CHECK(r.elements_checked == lora.trainable_parameter_count());
}
