#pragma once
// The backbone and PEFT method of an experiment, from YAML:
//   backbone: {path: DIR}                    a Hugging Face model directory (its config.json), or
//   backbone: {shape: llama-2-7b}            a named shape, no weights needed, or
//   backbone: {shape: {hidden_size: ..., ...}}  config.json's keys inline
//   method:   {name: iapt, soft_tokens: 4, bottleneck: 320, layers: all | [..], pooler: attention,
//              activation: {kind: rational, version: B, degrees: [6, 5], init: gelu},
//              activation_pattern: {lower: relu, upper: gelu}, shift_text_positions: true,
//              coefficient_learning: joint}
//   method:   {name: lora, r: 8, alpha: 16, dropout: 0.0, targets: [q, k, v, o, gate, up, down]}
//   method:   {name: full}
// Paths may use environment variables: ${IAPT_SHARED}/models/en-llama-6m.
#include <string>

#include "models/llama_config.h"
#include "nn/peft/iapt.h"
#include "nn/peft/lora.h"

namespace iapt::config {

struct BackboneSpec {
  std::string path;            // empty when given as a shape
  std::string shape_name;      // set for a named shape
  models::LlamaConfig config;
};

struct MethodSpec {
  std::string name;  // iapt, lora, full
  nn::IaptOptions iapt;
  nn::LoraOptions lora;
};

struct PeftConfig {
  std::string file;
  BackboneSpec backbone;
  MethodSpec method;
};

PeftConfig load_peft_config(const std::string& path);

// Shapes of well-known checkpoints, by name (llama-2-7b, llama-2-13b, tinyllama-1.1b).
models::LlamaConfig named_shape(const std::string& name);

// ${VAR} replaced by the environment's value; an unset variable is an error naming it.
std::string expand_env(const std::string& text, const std::string& where);

// Tunable parameters of the method on a backbone of this shape, computed from the shape alone.
int64_t tunable_parameters(const models::LlamaConfig& backbone, const MethodSpec& method);
int64_t backbone_parameters(const models::LlamaConfig& backbone);

}  // namespace iapt::config
