#include "experiments/run/peft_files.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "experiments/config/yaml_reader.h"
#include "experiments/run/adapter.h"
#include "experiments/run/json_file.h"
#include "experiments/version.h"
#include "models/checkpoint.h"
#include "nn/peft/lora.h"
#include "nn/peft/ptuning_v2.h"

namespace iapt::run {

namespace fs = std::filesystem;

namespace {

// PEFT saves a model's adapter weights under the wrapped model's names: PeftModel.base_model (the
// tuner) .model (the causal LM), then the Hugging Face names iapt's canonical names already are.
constexpr const char* kWrapped = "base_model.model.";
// The projections iapt's LoRA targets (q, k, v, o, gate, up, down) are PEFT's target_modules "q_proj"...
const std::vector<std::string> kProjections{"q", "k", "v", "o", "gate", "up", "down"};
// iapt's (IA)^3 scales these, as PEFT's default for LLaMA does; down_proj scales its input
const std::vector<std::string> kIa3Modules{"k_proj", "v_proj", "down_proj"};

std::map<std::string, Tensor> wrapped(const std::map<std::string, Tensor>& state) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : state) out[kWrapped + name] = t;
  return out;
}

std::map<std::string, Tensor> unwrapped(const std::map<std::string, Tensor>& state, const std::string& file) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : state) {
    IAPT_CHECK(name.rfind(kWrapped, 0) == 0, "{}: tensor '{}': expected a name under '{}' (PEFT's save_pretrained)", file,
               name, kWrapped);
    out[name.substr(std::string(kWrapped).size())] = t;
  }
  return out;
}

const Tensor& only_tensor(const std::map<std::string, Tensor>& state, const std::string& name, const std::string& file) {
  IAPT_CHECK(state.size() == 1 && state.count(name), "{}: expected the one tensor '{}', found {} tensors", file, name,
             state.size());
  return state.at(name);
}

}  // namespace

void export_peft(const std::string& run_dir, const std::string& out_dir) {
  const RunAdapter adapter = read_adapter(run_dir);
  const RunConfig& c = adapter.config;
  const std::string weights = (fs::path(adapter.best_dir) / "adapter.safetensors").string();
  const std::map<std::string, Tensor> state = load_safetensors(weights).tensors;
  const models::LlamaConfig& b = c.backbone.config;
  // Fields as PEFT's config classes name them (peft.LoraConfig, PromptTuningConfig,
  // PrefixTuningConfig, IA3Config; PeftConfig's peft_type, task_type, base_model_name_or_path and
  // inference_mode).
  nlohmann::json config{{"task_type", "CAUSAL_LM"},
                        {"base_model_name_or_path", c.backbone.path},
                        {"inference_mode", true},
                        {"revision", nullptr}};
  std::map<std::string, Tensor> tensors;
  const std::string& name = c.method.name;
  if (name == "lora") {
    const auto& o = c.method.get<nn::LoraOptions>();
    std::vector<std::string> modules;
    for (const auto& t : o.targets) modules.push_back(t + "_proj");
    config.update({{"peft_type", "LORA"},
                   {"r", o.r},
                   {"lora_alpha", o.alpha},  // the update is B A x * lora_alpha / r
                   {"lora_dropout", o.dropout},
                   {"target_modules", modules},
                   {"bias", "none"},
                   {"fan_in_fan_out", false},
                   {"modules_to_save", nullptr},
                   {"layers_to_transform", nullptr},
                   {"rank_pattern", nlohmann::json::object()},
                   {"alpha_pattern", nlohmann::json::object()},
                   {"use_rslora", false},
                   {"use_dora", false},
                   {"init_lora_weights", true}});
    tensors = wrapped(state);  // "...q_proj.lora_A.weight" [r, in], "...lora_B.weight" [out, r]
  } else if (name == "ia3") {
    config.update({{"peft_type", "IA3"},
                   {"target_modules", kIa3Modules},
                   {"feedforward_modules", std::vector<std::string>{"down_proj"}},
                   {"fan_in_fan_out", false},
                   {"modules_to_save", nullptr},
                   {"init_ia3_weights", true}});
    tensors = wrapped(state);  // "...k_proj.ia3_l" [out, 1], "...down_proj.ia3_l" [1, in]
  } else if (name == "prompt_tuning") {
    const Tensor& table = only_tensor(state, "prompt_encoder.embedding.weight", weights);  // [k, d]
    config.update({{"peft_type", "PROMPT_TUNING"},
                   {"num_virtual_tokens", table.size(0)},
                   {"token_dim", table.size(1)},
                   {"num_transformer_submodules", 1},
                   {"num_attention_heads", b.num_attention_heads},
                   {"num_layers", b.num_hidden_layers},
                   {"prompt_tuning_init", "RANDOM"},
                   {"tokenizer_name_or_path", nullptr}});
    tensors["prompt_embeddings"] = table;
  } else if (name == "ptuning_v2") {
    // [k, L * 2 * kv_heads * head_dim]: per virtual token, per layer its key then its value, each
    // [kv_heads, head_dim]: PEFT's past_key_values view (k, 2L, heads, head_dim), which for
    // grouped key/value heads takes num_attention_heads = num_key_value_heads and token_dim =
    // head_dim * num_key_value_heads
    const int64_t head_dim = b.hidden_size / b.num_attention_heads;
    const auto& o = c.method.get<nn::PtuningV2Options>();
    Tensor table;
    if (o.reparameterize) {
      // The MLP's output table, as PEFT itself saves a prefix_projection model
      // (get_prompt_embedding_to_save runs the encoder): the same prefixes, without the MLP.
      nn::PtuningV2 method(b.hidden_size, b.num_hidden_layers, b.num_key_value_heads, head_dim, o);
      method.load_canonical_state(state, "", weights);
      const NoGradGuard no_grad;
      table = method.transform_out->forward(tanh(method.transform_in->forward(method.embedding))).data();
    } else {
      table = only_tensor(state, "prompt_encoder.embedding.weight", weights);
    }
    config.update({{"peft_type", "PREFIX_TUNING"},
                   {"num_virtual_tokens", table.size(0)},
                   {"token_dim", head_dim * b.num_key_value_heads},
                   {"num_transformer_submodules", 1},
                   {"num_attention_heads", b.num_key_value_heads},
                   {"num_layers", b.num_hidden_layers},
                   {"encoder_hidden_size", b.hidden_size},
                   {"prefix_projection", false}});
    tensors["prompt_embeddings"] = table;
  } else if (name == "iapt") {
    // not a PEFT type: the same two files, iapt's canonical names and its method section
    YAML::Emitter method;
    method << c.method_resolved;
    config.update({{"peft_type", "IAPT"}, {"iapt_method", method.c_str()}, {"iapt_version", version_string()}});
    tensors = state;
  } else {
    throw Error(fmt::format("{}: method '{}' has no PEFT files here (lora, prompt_tuning, ptuning_v2, ia3, iapt)", run_dir,
                            name));
  }
  fs::create_directories(out_dir);
  save_safetensors((fs::path(out_dir) / "adapter_model.safetensors").string(), tensors, {{"format", "pt"}});
  write_text_atomically((fs::path(out_dir) / "adapter_config.json").string(), config.dump(2) + "\n");
}

std::string import_peft(const std::string& peft_dir, const std::string& config_file, const std::string& out_dir) {
  const std::string config_path = (fs::path(peft_dir) / "adapter_config.json").string();
  const std::string weights = (fs::path(peft_dir) / "adapter_model.safetensors").string();
  IAPT_CHECK(fs::exists(config_path) && fs::exists(weights),
             "import: {} holds no adapter_config.json and adapter_model.safetensors (PEFT's save_pretrained)", peft_dir);
  const nlohmann::json config = read_json_file(config_path);
  const std::map<std::string, Tensor> tensors = load_safetensors(weights).tensors;
  const std::string type = config.value("peft_type", "");
  auto field = [&](const char* key) {
    IAPT_CHECK(config.contains(key) && !config[key].is_null(), "{}: no '{}' (a {} config needs it)", config_path, key,
               type);
    return config[key];
  };
  auto refuse_if = [&](bool unsupported, const std::string& what) {
    IAPT_CHECK(!unsupported, "{}: {}: iapt's {} does not take that", config_path, what, type);
  };
  YAML::Node method(YAML::NodeType::Map);
  std::map<std::string, Tensor> canonical;
  if (type == "LORA") {
    refuse_if(config.value("bias", "none") != "none", "bias '" + config.value("bias", "") + "'");
    refuse_if(config.value("use_rslora", false), "use_rslora");
    refuse_if(config.value("use_dora", false), "use_dora");
    refuse_if(config.contains("modules_to_save") && !config["modules_to_save"].is_null() &&
                  !config["modules_to_save"].empty(),
              "modules_to_save");
    refuse_if(config.contains("layers_to_transform") && !config["layers_to_transform"].is_null(), "layers_to_transform");
    for (const char* pattern : {"rank_pattern", "alpha_pattern"})
      refuse_if(config.contains(pattern) && !config[pattern].is_null() && !config[pattern].empty(), pattern);
    const nlohmann::json modules = field("target_modules");
    IAPT_CHECK(modules.is_array(), "{}: target_modules: expected a list of projection names (a pattern is not read)",
               config_path);
    YAML::Node targets(YAML::NodeType::Sequence);
    for (const auto& m : modules) {
      const std::string module = m.get<std::string>();
      const std::string stem = module.size() > 5 && module.ends_with("_proj") ? module.substr(0, module.size() - 5) : "";
      IAPT_CHECK(std::find(kProjections.begin(), kProjections.end(), stem) != kProjections.end(),
                 "{}: target_modules: '{}' is not one of LLaMA's projections (q_proj, k_proj, v_proj, o_proj, gate_proj, "
                 "up_proj, down_proj)",
                 config_path, module);
      targets.push_back(stem);
    }
    method["name"] = "lora";
    method["r"] = field("r").get<int64_t>();
    method["alpha"] = field("lora_alpha").get<double>();
    method["dropout"] = config.value("lora_dropout", 0.0);
    method["targets"] = targets;
    canonical = unwrapped(tensors, weights);
  } else if (type == "IA3") {
    std::set<std::string> modules, feedforward;
    for (const auto& m : field("target_modules")) modules.insert(m.get<std::string>());
    for (const auto& m : field("feedforward_modules")) feedforward.insert(m.get<std::string>());
    refuse_if(modules != std::set<std::string>(kIa3Modules.begin(), kIa3Modules.end()) ||
                  feedforward != std::set<std::string>{"down_proj"},
              fmt::format("target_modules {} with feedforward_modules {} (iapt scales k_proj, v_proj and down_proj's "
                          "input)",
                          modules, feedforward));
    method["name"] = "ia3";
    canonical = unwrapped(tensors, weights);
  } else if (type == "PROMPT_TUNING" || type == "PREFIX_TUNING") {
    refuse_if(config.value("num_transformer_submodules", 1) != 1, "num_transformer_submodules other than 1");
    refuse_if(type == "PREFIX_TUNING" && config.value("prefix_projection", false) && !config.value("inference_mode", false),
              "prefix_projection (its MLP)");
    method["name"] = type == "PROMPT_TUNING" ? "prompt_tuning" : "ptuning_v2";
    method["soft_tokens"] = field("num_virtual_tokens").get<int64_t>();
    canonical["prompt_encoder.embedding.weight"] = only_tensor(tensors, "prompt_embeddings", weights);
  } else if (type == "IAPT") {
    method = YAML::Load(field("iapt_method").get<std::string>());
    canonical = tensors;
  } else {
    throw Error(fmt::format("{}: peft_type '{}' is not one iapt reads (LORA, PROMPT_TUNING, PREFIX_TUNING, IA3, IAPT)",
                            config_path, type));
  }
  // the experiment, with the imported method in place of its own
  YAML::Node root = config::load_yaml_file(config_file);
  IAPT_CHECK(!root["sweep"], "import: {} is a sweep; give one experiment", config_file);
  root["method"] = method;
  const RunConfig c = read_run_config(root, config_file);
  const fs::path out(out_dir), best = out / "best";
  fs::create_directories(best);
  save_safetensors((best / "adapter.safetensors").string(), canonical,
                   {{"method", c.method.name}, {"imported_from", fs::absolute(peft_dir).string()}});
  write_text_atomically((best / "config.yaml").string(), c.to_yaml());
  write_text_atomically((out / "config.yaml").string(), c.to_yaml());
  try {  // every tensor has its parameter, of its shape, on the experiment's backbone
    attach_adapter(read_adapter(out_dir), models::load_llama(c.backbone.path, c.backbone.precision()));
  } catch (const Error& e) {
    for (const fs::path& f : {best / "adapter.safetensors", best / "config.yaml", out / "config.yaml"}) fs::remove(f);
    throw Error(fmt::format("import: {} does not fit the backbone of {}: {}", peft_dir, config_file, e.what()));
  }
  return c.method.name;
}

}  // namespace iapt::run
