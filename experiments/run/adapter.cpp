#include "experiments/run/adapter.h"

#include <filesystem>

#include "core/error.h"
#include "core/safetensors.h"
#include "experiments/config/peft_config.h"

namespace iapt::run {

namespace fs = std::filesystem;

RunAdapter read_adapter(const std::string& dir) {
  fs::path best(dir);
  if (!fs::exists(best / "adapter.safetensors") && fs::exists(best / "best" / "adapter.safetensors")) best /= "best";
  IAPT_CHECK(fs::exists(best / "adapter.safetensors") && fs::exists(best / "config.yaml"),
             "--adapter {}: no adapter.safetensors and config.yaml there or in its best/ (a run folder, or its best/, "
             "once the run has evaluated)",
             dir);
  return {best.string(), load_run_config((best / "config.yaml").string())};
}

std::shared_ptr<nn::PeftMethod> attach_adapter(const RunAdapter& adapter,
                                               const std::shared_ptr<models::LlamaForCausalLM>& model) {
  std::shared_ptr<nn::PeftMethod> method = config::make_method(adapter.config.method, model);
  const std::string file = (fs::path(adapter.best_dir) / "adapter.safetensors").string();
  method->load_canonical_state(load_safetensors(file).tensors, "", file);
  method->set_training(false);
  return method;
}

}  // namespace iapt::run
