#include "experiments/cli/model_options.h"

#include "models/checkpoint.h"

namespace iapt::cli {

CLI::Option* add_model_options(CLI::App* cmd, ModelOptions& o, bool required) {
  CLI::Option* model = cmd->add_option("--model", o.dir, "Hugging Face model directory")->check(CLI::ExistingDirectory);
  if (required) model->required();
  cmd->add_option("--dtype", o.dtype,
                  "dtype of the weight matrices in memory: f32, or bf16/f16 for half the memory (read without "
                  "conversion from a checkpoint stored so)")
      ->check(CLI::IsMember({"f32", "bf16", "f16"}))
      ->capture_default_str();
  cmd->add_option("--compute", o.compute,
                  "dtype of the activations: f32, or --dtype's bf16/f16 (each op computes in f32 and rounds its "
                  "result; half the activations' and the key/value cache's memory)")
      ->check(CLI::IsMember({"f32", "bf16", "f16"}))
      ->capture_default_str();
  return model;
}

models::Precision precision_of(const ModelOptions& o) {
  return models::precision_of(o.dtype, o.compute, "--dtype ", "--compute ");
}

std::shared_ptr<models::LlamaForCausalLM> load_model(const ModelOptions& o) {
  return models::load_llama(o.dir, precision_of(o));
}

}  // namespace iapt::cli
