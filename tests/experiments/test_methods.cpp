// Every PEFT method through one interface on a tiny frozen LLaMA: its tunable parameter count
// against the shape formula, f64 gradients of its parameters against central differences, and for
// the methods that insert tokens or prefixes, cached generation against full recomputation.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/ops.h"
#include "experiments/config/peft_config.h"
#include "experiments/run/lm_loss.h"
#include "kernels/backends.h"
#include "models/generation.h"
#include "nn/peft/adapters.h"
#include "nn/peft/iapt.h"
#include "nn/peft/lora.h"
#include "nn/peft/prompts.h"
#include "nn/peft/ptuning_v2.h"
#include "tests/tiny_llama.h"

using namespace iapt;

namespace {

models::LlamaConfig tiny_config() { return testing::tiny_llama_config(); }

// Each method's options at tiny sizes (P-tuning v2 reparameterised unless a test says otherwise).
config::MethodSpec spec_for(const std::string& name) {
  config::MethodSpec s = config::method_defaults(name);
  if (auto* o = std::any_cast<nn::IaptOptions>(&s.options)) {
    o->soft_tokens = 3;
    o->bottleneck = 4;
    o->activation.rational = {3, 2, RationalVersion::B, "gelu"};
  } else if (auto* o = std::any_cast<nn::LoraOptions>(&s.options)) {
    *o = {2, 4, 0.0, {"q", "k", "v", "o", "gate", "up", "down"}};
  } else if (auto* o = std::any_cast<nn::PromptTuningOptions>(&s.options)) {
    o->soft_tokens = 3;
  } else if (auto* o = std::any_cast<nn::IdpgOptions>(&s.options)) {
    o->soft_tokens = 3;
    o->bottleneck = 4;
  } else if (auto* o = std::any_cast<nn::PtuningV2Options>(&s.options)) {
    o->soft_tokens = 3;
    o->reparameterize = true;
    o->reparam_hidden = 6;
  } else if (auto* o = std::any_cast<nn::LptOptions>(&s.options)) {
    o->soft_tokens = 3;
    o->bottleneck = 4;
  } else if (auto* o = std::any_cast<nn::AdapterOptions>(&s.options)) {
    o->bottleneck = 3;
    o->scale = 0.5;
  }
  return s;
}

// These tensors are made before main() registers the backends, so this file registers them first
// (initialisation within a file follows declaration order).
const bool kBackendsRegistered = (kernels::register_backends(), true);
const Tensor kIds = from_ints({1, 4, 9, 2, 17, 5, 1, 6, 6, 12, 3, 22}, {2, 6});
const Tensor kInstruction = from_ints({1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0}, {2, 6});
const Tensor kTargets = from_ints({4, 9, 2, 17, 5, -100, 6, 6, 12, 3, 22, -100}, {12});

int64_t count(const nn::PeftMethod& m) {
  int64_t n = 0;
  for (auto& [name, p] : m.canonical_parameters()) n += p.data().numel();
  return n;
}

}  // namespace

TEST_CASE("methods: every method's parameter count matches its shape formula", "[methods]") {
  for (const auto& name : config::method_names()) {
    auto model = std::make_shared<models::LlamaForCausalLM>(tiny_config());
    config::MethodSpec s = spec_for(name);
    auto method = config::make_method(s, model);
    INFO(name);
    CHECK(method->name() == (name == "parallel_adapter" ? "parallel_adapter" : name));
    CHECK(count(*method) == config::tunable_parameters(model->config, s));
    // the registry's offset, known before building, is the built method's own
    CHECK(method->text_position_offset() == config::text_position_offset(s));
    if (name != "full") CHECK(model->trainable_parameter_count() == 0);
  }
  // with the reparameterisation MLP, and IDPG per layer
  auto model = std::make_shared<models::LlamaForCausalLM>(tiny_config());
  config::MethodSpec s = spec_for("ptuning_v2");
  s.get<nn::PtuningV2Options>().reparameterize = true;
  CHECK(count(*config::make_method(s, model)) == config::tunable_parameters(model->config, s));
  config::MethodSpec idpg = spec_for("idpg");
  idpg.get<nn::IdpgOptions>().per_layer = true;
  CHECK(count(*config::make_method(idpg, model)) == config::tunable_parameters(model->config, idpg));
}

TEST_CASE("methods: gradcheck of every method's parameters through a tiny frozen LLaMA", "[methods][gradcheck]") {
  for (const auto& name : config::method_names()) {
    if (name == "full") continue;  // the backbone's own gradients: the engine's gradchecks cover them
    for (bool variant : {false, true}) {  // P-tuning v2 with its MLP, IDPG per layer
      if (variant && name != "ptuning_v2" && name != "idpg") continue;
      const bool reparam = variant;
      manual_seed(51);
      auto model = std::make_shared<models::LlamaForCausalLM>(tiny_config(), DType::F64);
      config::MethodSpec s = spec_for(name);
      if (name == "ptuning_v2") s.get<nn::PtuningV2Options>().reparameterize = reparam;
      if (name == "idpg") s.get<nn::IdpgOptions>().per_layer = variant;
      auto method = config::make_method(s, model, DType::F64);
      std::vector<Variable> params;
      for (auto& [n, p] : method->canonical_parameters()) {
        // away from the zero starts (LoRA's B, adapters' up), so every path carries a gradient
        if (n.find("ia3") == std::string::npos && n.find("numerator") == std::string::npos &&
            n.find("denominator") == std::string::npos)
          p.data().copy_(ops::add(p.data(), ops::mul_scalar(randn(p.shape(), DType::F64), 0.3)));
        params.push_back(p);
      }
      models::ForwardInputs in;
      in.hooks = method.get();
      in.batch.instruction_mask = kInstruction;
      auto loss = [&] { return cross_entropy(reshape(model->forward(kIds, in), {12, 30}), kTargets); };
      CHECK(model->forward(kIds, in).shape() == Shape{2, 6, 30});
      GradcheckReport r = gradcheck_parameters(loss, params, {1e-6, 1e-7, 1e-5});
      INFO(name << (reparam ? " (reparameterised)" : "") << ": " << r.to_string());
      if (std::getenv("IAPT_GRADCHECK_VERBOSE")) fmt::print("gradcheck method {:<18} {}\n", name, r.to_string());
      CHECK(r.ok);
    }
  }
}

TEST_CASE("methods: adapters, (IA)^3 and LoRA start at the frozen model", "[methods]") {
  for (const std::string name : {"adapter", "parallel_adapter", "ia3", "lora"}) {
    manual_seed(52);
    auto model = std::make_shared<models::LlamaForCausalLM>(tiny_config(), DType::F64);
    Tensor before = model->forward(kIds).data();
    auto method = config::make_method(spec_for(name), model, DType::F64);
    models::ForwardInputs in;
    in.hooks = method.get();
    INFO(name);
    CHECK(model->forward(kIds, in).data().to_vector() == before.to_vector());
  }
}

TEST_CASE("methods: cached generation equals recomputation for inserted tokens and prefixes", "[methods]") {
  for (const std::string name : {"prompt_tuning", "lpt", "idpg", "idpg per layer", "ptuning_v2", "iapt"}) {
    manual_seed(53);
    auto model = std::make_shared<models::LlamaForCausalLM>(tiny_config());
    config::MethodSpec spec = spec_for(name == "idpg per layer" ? "idpg" : name);
    if (spec.name == "idpg") spec.get<nn::IdpgOptions>().per_layer = name == "idpg per layer";
    auto method = config::make_method(spec, model);
    for (auto& [n, p] : method->canonical_parameters())
      p.data().copy_(ops::add(p.data(), ops::mul_scalar(randn(p.shape()), 0.5)));
    std::vector<int64_t> prompt{1, 4, 9, 2, 17};
    const int64_t n = static_cast<int64_t>(prompt.size());
    models::GenerationOptions o;
    o.max_new_tokens = 5;
    o.eos_id = -1;
    o.hooks = method.get();
    auto cached = models::generate(*model, {prompt}, o);

    std::vector<int64_t> seq = prompt;
    NoGradGuard no_grad;
    for (int step = 0; step < 5; ++step) {
      const int64_t len = static_cast<int64_t>(seq.size());
      std::vector<int64_t> instr(len, 0);
      for (int64_t i = 0; i < n; ++i) instr[i] = 1;  // the prompt is the instruction
      models::ForwardInputs in;
      in.hooks = method.get();
      in.batch.instruction_mask = from_ints(instr, {1, len});
      Tensor last = model->forward(from_ints(seq, {1, len}), in).data().narrow(1, len - 1, 1).reshape({-1});
      int64_t best = 0;
      for (int64_t v = 1; v < 30; ++v)
        if (last.at({v}) > last.at({best})) best = v;
      seq.push_back(best);
    }
    INFO(name);
    CHECK(cached[0].tokens == std::vector<int64_t>(seq.begin() + n, seq.end()));
  }
}

namespace {

// ||a - b|| / ||b|| over every element; ||a|| where b is all zero (a dead ReLU's gradient)
double relative_error(const Tensor& a, const Tensor& b) {
  const Tensor d = ops::sub(a.to(DType::F64), b.to(DType::F64));
  const double diff = std::sqrt(ops::sum(ops::mul(d, d)).item());
  const double norm = std::sqrt(ops::sum(ops::mul(b.to(DType::F64), b.to(DType::F64))).item());
  return norm > 0 ? diff / norm : diff;
}

}  // namespace

TEST_CASE("methods: every method's gradients through a bf16 backbone match f32", "[methods][half]") {
  // Three backbones: f32 (the original weights), bf16 (those rounded to nearest even) and f32 holding
  // the rounded values (widening is exact). The same method parameters on each.
  // - bf16 against f32 with the rounded values, each parameter: the same f32 arithmetic on the same
  //   numbers, perhaps in another order: within 1e-5 (measured: equal).
  // - bf16 against the original f32, all of a method's gradients as one vector: what storing the
  //   weights in bf16 costs. A bf16 weight is off by at most 2^-9 (2e-3) of itself, 8 significant
  //   bits; through three layers forward and back the errors add up to a few times that, more where
  //   a ReLU (the adapters') changes side: within 3e-2 (measured: 2.0e-3 for P-tuning v2 to 7.9e-3
  //   for LoRA). A single small parameter can be off by more (once measured 0.14: an adapter's
  //   down-projection beside a ReLU that flipped), so the bound is not per parameter.
  // - bf16 with bf16 activations (compute: bf16) against the original f32: each op's result is
  //   rounded too, about 30 roundings on a path through three layers, and the gradients flowing
  //   back are rounded as well: within 6e-2 (measured: 6.0e-3 for P-tuning v2 to 2.2e-2 for LoRA;
  //   IAPT_HALF_VERBOSE=1 prints each).
  for (const auto& name : config::method_names()) {
    if (name == "full") continue;  // trains every weight, which bf16 weights cannot (refused elsewhere)
    INFO(name);
    manual_seed(55);
    auto original = std::make_shared<models::LlamaForCausalLM>(tiny_config());
    auto half = std::make_shared<models::LlamaForCausalLM>(tiny_config(), models::Precision{DType::F32, DType::BF16});
    auto rounded = std::make_shared<models::LlamaForCausalLM>(tiny_config());
    auto all_half =
        std::make_shared<models::LlamaForCausalLM>(tiny_config(), models::Precision{DType::F32, DType::BF16, true});
    REQUIRE(half->load_state_dict(original->state_dict(), "original").empty());   // rounds
    REQUIRE(rounded->load_state_dict(half->state_dict(), "bf16").empty());        // widens, exactly
    REQUIRE(all_half->load_state_dict(half->state_dict(), "bf16").empty());
    config::MethodSpec s = spec_for(name);
    auto on_original = config::make_method(s, original), on_half = config::make_method(s, half),
         on_rounded = config::make_method(s, rounded), on_all_half = config::make_method(s, all_half);
    auto theirs = [](const nn::PeftMethod& m) { return m.canonical_parameters(); };
    const auto p_original = theirs(*on_original), p_half = theirs(*on_half), p_rounded = theirs(*on_rounded),
               p_all_half = theirs(*on_all_half);
    REQUIRE(p_original.size() == p_half.size());
    for (size_t i = 0; i < p_original.size(); ++i) {
      // away from the zero starts, so every path carries a gradient; then the same values in all three
      if (p_original[i].first.find("ia3") == std::string::npos)
        p_original[i].second.data().copy_(
            ops::add(p_original[i].second.data(), ops::mul_scalar(randn(p_original[i].second.shape()), 0.3)));
      p_half[i].second.data().copy_(p_original[i].second.data());
      p_rounded[i].second.data().copy_(p_original[i].second.data());
      p_all_half[i].second.data().copy_(p_original[i].second.data());
    }
    auto grads = [&](models::LlamaForCausalLM& model, nn::PeftMethod& method) {
      models::ForwardInputs in;
      in.hooks = &method;
      in.batch.instruction_mask = kInstruction;
      Variable logits = model.forward(kIds, in);
      REQUIRE(logits.dtype() == DType::F32);
      cross_entropy(reshape(logits, {12, 30}), kTargets).backward();
      std::vector<Tensor> g;
      for (auto& [n, p] : method.canonical_parameters()) {
        REQUIRE(p.grad().dtype() == DType::F32);  // trainable parameters and their gradients stay f32
        g.push_back(p.grad());
      }
      return g;
    };
    const auto g_original = grads(*original, *on_original), g_half = grads(*half, *on_half),
               g_rounded = grads(*rounded, *on_rounded), g_all_half = grads(*all_half, *on_all_half);
    auto flat = [](const std::vector<Tensor>& g) {
      std::vector<Tensor> pieces;
      for (const Tensor& t : g) pieces.push_back(t.to(DType::F64).reshape({-1}));
      return ops::concat(pieces, 0);
    };
    for (size_t i = 0; i < g_original.size(); ++i) {
      INFO(p_original[i].first);
      CHECK(relative_error(g_half[i], g_rounded[i]) < 1e-5);
    }
    const double storage = relative_error(flat(g_half), flat(g_original));
    const double activations = relative_error(flat(g_all_half), flat(g_original));
    if (std::getenv("IAPT_HALF_VERBOSE"))
      fmt::print("bf16 gradients of {:<16} against f32: weights {:.2e}, weights and activations {:.2e} relative\n",
                 name, storage, activations);
    CHECK(storage < 3e-2);
    CHECK(activations < 6e-2);
    CHECK(activations != storage);  // the activations were rounded: another computation
  }
}

TEST_CASE("methods: gradcheck of full fine-tuning on a micro LLaMA", "[methods][gradcheck]") {
  models::LlamaConfig c;
  c.vocab_size = 6, c.hidden_size = 4, c.intermediate_size = 6, c.num_hidden_layers = 1;
  c.num_attention_heads = 2, c.num_key_value_heads = 1;
  manual_seed(54);
  auto model = std::make_shared<models::LlamaForCausalLM>(c, DType::F64);
  config::MethodSpec s = config::method_defaults("full");
  auto method = config::make_method(s, model, DType::F64);
  std::vector<Variable> params;
  for (auto& [n, p] : method->canonical_parameters()) params.push_back(p);
  CHECK(params.size() == model->named_parameters().size());
  Tensor ids = from_ints({1, 4, 2, 5, 3, 1}, {2, 3});
  Tensor targets = from_ints({4, 2, -100, 3, 1, -100}, {6});
  auto loss = [&] { return cross_entropy(reshape(model->forward(ids), {6, 6}), targets); };
  GradcheckReport r = gradcheck_parameters(loss, params);
  INFO(r.to_string());
  CHECK(r.ok);
  CHECK(r.elements_checked == model->parameter_count());
}

TEST_CASE("methods: the response loss projects only response positions, with the loss and gradients of all logits",
          "[methods]") {
  for (const std::string name : {"iapt", "lora", "prompt_tuning"}) {
    INFO(name);
    manual_seed(9);
    auto model = std::make_shared<models::LlamaForCausalLM>(tiny_config(), DType::F64);
    auto method = config::make_method(spec_for(name), model, DType::F64);
    // row 1 right-padded by one; labels on the response tokens only
    run::Batch b;
    b.input_ids = kIds;
    b.attention_mask = from_ints({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, {2, 6});
    b.instruction_mask = kInstruction;
    b.labels = from_ints({-100, -100, -100, -100, 17, 5, -100, -100, -100, 3, 22, -100}, {2, 6});
    auto grads = [&](bool all_logits) {
      for (auto& [n, p] : method->canonical_parameters()) p.zero_grad();
      Variable logits;
      Variable loss = run::response_loss(*model, *method, b, all_logits ? &logits : nullptr);
      loss.backward();
      std::vector<Tensor> out{loss.data()};
      for (auto& [n, p] : method->canonical_parameters()) out.push_back(p.grad().defined() ? p.grad() : zeros(p.shape(), DType::F64));
      return out;
    };
    auto reduced = grads(false), full = grads(true);
    REQUIRE(reduced.size() == full.size());
    for (size_t i = 0; i < full.size(); ++i) {
      const double diff = ops::amax(ops::unary(UnaryOp::Abs, ops::sub(reduced[i], full[i])), {}, false).item();
      CHECK(diff < 1e-12);
    }
    CHECK(reduced[0].item() > 0);
  }
}
