#pragma once
// A trained run's method for the commands that use a model (generate, score): `--adapter` names the
// run's folder or its best/ folder; the method and its options come from the config saved with the
// best weights (best/config.yaml), the weights from best/adapter.safetensors.
#include <memory>
#include <string>

#include "experiments/run/run_config.h"
#include "models/llama.h"
#include "nn/peft/method.h"

namespace iapt::run {

struct RunAdapter {
  std::string best_dir;  // RUN/best
  RunConfig config;      // the run's, as it was trained
};

// Reads RUN/best/config.yaml (DIR is RUN or RUN/best); an error names what is missing.
RunAdapter read_adapter(const std::string& dir);

// The run's method on `model` (which must be the run's backbone, or one of its shape), with the best
// weights loaded, in evaluation mode.
std::shared_ptr<nn::PeftMethod> attach_adapter(const RunAdapter& adapter,
                                               const std::shared_ptr<models::LlamaForCausalLM>& model);

}  // namespace iapt::run
