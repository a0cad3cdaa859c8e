#pragma once
// The backbone and PEFT method of an experiment, from YAML:
//   backbone: {path: DIR}                    a Hugging Face model directory (its config.json), or
//   backbone: {shape: llama-2-7b}            a named shape, no weights needed, or
//   backbone: {shape: {hidden_size: ..., ...}}  config.json's keys inline
//   backbone: {..., dtype: f32 | bf16 | f16}  the projection and embedding matrices' dtype: 16-bit
//                                            halves their memory and freezes them (norms, activations
//                                            and the method stay f32); f32 by default
//   backbone: {..., dtype: bf16, compute: bf16}  the activations in the weights' 16-bit dtype too:
//                                            each op computes in f32 and rounds its result once;
//                                            norms' weights, logits, the loss and the method stay f32
//   method:   {name: iapt, soft_tokens: 4, bottleneck: 320, layers: all | [..], pooler: attention,
//              activation: {kind: rational, version: B, degrees: [6, 5], init: gelu},
//              activation_pattern: {lower: relu, upper: gelu}, shift_text_positions: true,
//              coefficient_learning: joint, gated_prefix: false (a variant: zero-init gated prefixes),
//              start: {up: default | zero | normal, up_std: 0.02, query: default | zero | normal, query_std: 0.02}}
//   method:   {name: lora, r: 8, alpha: 16, dropout: 0.0, targets: [q, k, v, o, gate, up, down]}
//   method:   {name: prompt_tuning, soft_tokens: 20, start: {embedding: vocabulary | random, embedding_std: 0.02}}
//   method:   {name: ptuning_v2, soft_tokens: 16, reparameterize: false, reparam_hidden: 512,
//              start: {prefix: normal | zero, prefix_std: 1.0}}
//   method:   {name: idpg, soft_tokens: 4, bottleneck: 64, per_layer: false, start: {up: ..., up_std: ...}}
//   method:   {name: lpt, soft_tokens: 4, bottleneck: 64, layer: -1 (middle), pooler: attention,
//              start: {up: ..., query: ...} as IAPT's}
// A start of "default" is the part's own initialisation (Linear's uniform +-1/sqrt(fan_in); P-tuning
// v2's standard normal); docs/results.md measures how far each start is from the frozen model.
//   method:   {name: adapter | parallel_adapter, bottleneck: 64, placement: both, scale: 1.0}
//   method:   {name: ia3}
//   method:   {name: full}
// Paths may use environment variables (${IAPT_SHARED}/models/en-llama-6m); a relative path is
// relative to the config file's folder.
#include <any>
#include <string>

#include "core/error.h"
#include "experiments/config/yaml_reader.h"
#include "models/llama.h"
#include "models/llama_config.h"
#include "nn/peft/method.h"

namespace iapt::config {

struct BackboneSpec {
  std::string path;            // empty when given as a shape
  std::string tokenizer;       // tokenizer.model or tokenizer.json, when not the one in `path`
  std::string shape_name;      // set for a named shape
  models::LlamaConfig config;
  DType weights = DType::F32;  // backbone.dtype
  bool activations_16bit = false;  // backbone.compute: the weights' 16-bit dtype rather than f32
  models::Precision precision() const { return {DType::F32, weights, activations_16bit}; }
};

// The options held in `options` as the struct `Options`; an error naming the method otherwise.
template <class Options>
const Options& options_as(const std::any& options, const std::string& method) {
  const Options* o = std::any_cast<Options>(&options);
  IAPT_CHECK(o != nullptr, "method '{}': its options are not of the type asked for", method);
  return *o;
}

// A method and its options: the method's own options struct (nn::IaptOptions for iapt,
// nn::LoraOptions for lora, ...; experiments/config/methods/<method>.cpp says which), as its
// registry entry defaults and reads it.
struct MethodSpec {
  std::string name;  // one of method_names()
  std::any options;

  template <class Options>
  const Options& get() const {
    return options_as<Options>(options, name);
  }
  template <class Options>
  Options& get() {
    return const_cast<Options&>(static_cast<const MethodSpec*>(this)->get<Options>());
  }
};

const std::vector<std::string>& method_names();
// The method's options as its entry defaults them, before any YAML.
MethodSpec method_defaults(const std::string& name);

struct PeftConfig {
  std::string file;
  BackboneSpec backbone;
  MethodSpec method;
};

PeftConfig load_peft_config(const std::string& path);

// The two sections, for files that hold more (experiments/run/run_config.h).
BackboneSpec read_backbone(YamlMap m, const std::string& file);
// Sizes are checked against the backbone: soft tokens within its positions, layers among its layers.
MethodSpec read_method(YamlMap m, const models::LlamaConfig& backbone);

// Shapes of well-known checkpoints, by name (llama-2-7b, llama-2-13b, tinyllama-1.1b).
models::LlamaConfig named_shape(const std::string& name);

// ${VAR} replaced by the environment's value; an unset variable is an error naming it.
std::string expand_env(const std::string& text, const std::string& where);
// A path from config file `file`: variables expanded, a relative one taken from the file's folder,
// unless it begins with a variable whose value is relative: that is taken from the working
// directory, as the shell that set it would. `key` names it in errors.
std::string config_path(const std::string& value, const std::string& file, const std::string& key);

// Tunable parameters of the method on a backbone of this shape, computed from the shape alone.
int64_t tunable_parameters(const models::LlamaConfig& backbone, const MethodSpec& method);
int64_t backbone_parameters(const models::LlamaConfig& backbone);
// Where the text's positions start after the method's soft tokens (its text_position_offset(),
// known before it is built); 0 for methods without them.
int64_t text_position_offset(const MethodSpec& method);

// Builds the method for `model`, attaches what attaches (LoRA, (IA)^3), and freezes the backbone
// (full fine-tuning unfreezes it instead).
std::shared_ptr<nn::PeftMethod> make_method(const MethodSpec& spec, const std::shared_ptr<models::LlamaForCausalLM>& model,
                                            DType dtype = DType::F32);

}  // namespace iapt::config
