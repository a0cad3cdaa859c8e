#pragma once
// The options of every command that loads a Hugging Face model: its directory, the dtype its
// weights are kept in (bf16 or f16 halve the memory; norms, activations and anything trained stay
// f32), the activations' dtype (--compute: f32, or the weights' 16-bit dtype, which halves the
// key/value cache of generation too), and for some a trained run's method on top (--adapter).
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "models/llama.h"
#include "models/tokenizer.h"
#include "nn/peft/method.h"

namespace iapt::cli {

struct ModelOptions {
  std::string dir;
  std::string dtype = "f32";
  std::string compute = "f32";
  std::string adapter;  // a run folder (or its best/); empty: the model alone
};

// --model DIR (required unless `required` is false, or `with_adapter` adds --adapter, which can
// stand for it), --dtype f32|bf16|f16 and --compute f32|bf16|f16. Returns --model.
CLI::Option* add_model_options(CLI::App* cmd, ModelOptions& o, bool required = true, bool with_adapter = false);
models::Precision precision_of(const ModelOptions& o);
std::shared_ptr<models::LlamaForCausalLM> load_model(const ModelOptions& o);

// The model, its tokenizer and, with --adapter, the run's method with its best weights (null
// without). Without --model, the run's own backbone (its weights' dtype) and tokenizer.
struct LoadedModel {
  std::shared_ptr<models::LlamaForCausalLM> model;
  std::unique_ptr<models::Tokenizer> tok;
  std::shared_ptr<nn::PeftMethod> method;
  std::string dir;  // the model's directory
};
LoadedModel load_model_and_adapter(const ModelOptions& o);

}  // namespace iapt::cli
