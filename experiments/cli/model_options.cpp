#include "experiments/cli/model_options.h"

#include "core/error.h"
#include "experiments/run/adapter.h"
#include "models/checkpoint.h"

namespace iapt::cli {

CLI::Option* add_model_options(CLI::App* cmd, ModelOptions& o, bool required, bool with_adapter) {
  CLI::Option* model = cmd->add_option("--model", o.dir, "Hugging Face model directory")->check(CLI::ExistingDirectory);
  if (required && !with_adapter) model->required();
  if (with_adapter)
    cmd->add_option("--adapter", o.adapter, "a trained run's folder (or its best/): its method and best weights on the "
                                            "model (without --model, the run's backbone)")
        ->check(CLI::ExistingDirectory);
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

LoadedModel load_model_and_adapter(const ModelOptions& o) {
  IAPT_CHECK(!o.dir.empty() || !o.adapter.empty(), "--model or --adapter is required");
  LoadedModel m;
  if (o.adapter.empty()) {
    m.dir = o.dir;
    m.model = load_model(o);
    m.tok = models::Tokenizer::from_model_dir(o.dir);
  } else {
    const run::RunAdapter adapter = run::read_adapter(o.adapter);
    const bool own = o.dir.empty();  // the run's backbone, as it was trained
    m.dir = own ? adapter.config.backbone.path : o.dir;
    m.model = models::load_llama(m.dir, own ? adapter.config.backbone.precision() : precision_of(o));
    m.tok = own ? models::Tokenizer::load(adapter.config.tokenizer) : models::Tokenizer::from_model_dir(o.dir);
    m.method = run::attach_adapter(adapter, m.model);
  }
  m.tok->require_fits(m.model->config.vocab_size, m.dir);
  return m;
}

}  // namespace iapt::cli
