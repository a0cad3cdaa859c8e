#pragma once
// The options of every command that loads a Hugging Face model: its directory, the dtype its
// weights are kept in (bf16 or f16 halve the memory; norms, activations and anything trained stay
// f32), and the activations' dtype (--compute: f32, or the weights' 16-bit dtype, which halves the
// key/value cache of generation too).
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "models/llama.h"

namespace iapt::cli {

struct ModelOptions {
  std::string dir;
  std::string dtype = "f32";
  std::string compute = "f32";
};

// --model DIR (required unless `required` is false), --dtype f32|bf16|f16 and --compute
// f32|bf16|f16. Returns --model.
CLI::Option* add_model_options(CLI::App* cmd, ModelOptions& o, bool required = true);
models::Precision precision_of(const ModelOptions& o);
std::shared_ptr<models::LlamaForCausalLM> load_model(const ModelOptions& o);

}  // namespace iapt::cli
