#include <catch2/catch.hpp>
#include <filesystem>

#include "core/error.h"
#include "models/llama.h"

using namespace iapt;

namespace {
models::LlamaConfig tiny_config(bool tied) {
  models::LlamaConfig c;
  c.vocab_size = 20;
  c.hidden_size = 8;
  c.intermediate_size = 12;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.tie_word_embeddings = tied;
  return c;
}
}  // namespace

TEST_CASE("module: parameters carry Hugging Face's dotted names", "[nn]") {
  models::LlamaForCausalLM m(tiny_config(false));
  std::vector<std::string> names;
  for (auto& [name, p] : m.named_parameters()) names.push_back(name);
  CHECK(names.front() == "model.embed_tokens.weight");
  CHECK(std::find(names.begin(), names.end(), "model.layers.1.self_attn.k_proj.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "model.layers.0.mlp.down_proj.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "model.layers.1.post_attention_layernorm.weight") != names.end());
  CHECK(names.back() == "lm_head.weight");
  // embed 160 + per layer (q 64 + k 32 + v 32 + o 64 + gate/up/down 288 + norms 16) * 2 + norm 8 + head 160
  CHECK(m.parameter_count() == 160 + 2 * (64 + 32 + 32 + 64 + 288 + 16) + 8 + 160);
  models::LlamaForCausalLM tied(tiny_config(true));
  CHECK(tied.parameter_count() == m.parameter_count() - 160);
}

TEST_CASE("module: freeze and unfreeze set what trains", "[nn]") {
  models::LlamaForCausalLM m(tiny_config(true));
  CHECK(m.trainable_parameter_count() == m.parameter_count());
  m.freeze();
  CHECK(m.trainable_parameter_count() == 0);
  m.model->layers[1]->mlp->unfreeze();
  CHECK(m.trainable_parameter_count() == 288);
}

TEST_CASE("module: save and load a state as safetensors", "[nn]") {
  manual_seed(1);
  models::LlamaForCausalLM a(tiny_config(true));
  manual_seed(2);
  models::LlamaForCausalLM b(tiny_config(true));
  auto path = (std::filesystem::temp_directory_path() / "iapt_module_state.safetensors").string();
  a.save(path);
  b.load(path);
  auto sa = a.state_dict(), sb = b.state_dict();
  for (auto& [name, t] : sa) CHECK(sb.at(name).to_vector() == t.to_vector());
  models::LlamaForCausalLM other(tiny_config(false));  // has lm_head.weight, which the file lacks
  CHECK_THROWS_WITH(other.load(path), Catch::Contains("missing tensor 'lm_head.weight' (expected shape [20, 8])"));
}
