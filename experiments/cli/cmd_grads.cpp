// iapt grads: one forward and backward of a configured method on a given batch, for checking this
// implementation against any other. The batch holds input_ids, attention_mask, instruction_mask
// (1 on instruction tokens) and labels aligned with input_ids as in Hugging Face (-100 ignored;
// shifted inside: position t predicts label t + 1). The trainable parameters come from INIT by
// canonical name. Writes loss, logits and every trainable parameter's gradient under its name.
#include <fmt/format.h>

#include "autograd/functions.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "experiments/cli/commands.h"
#include "experiments/config/peft_config.h"
#include "experiments/run/lm_loss.h"
#include "models/checkpoint.h"

namespace iapt::cli {

namespace {

Tensor batch_tensor(const SafetensorsFile& f, const std::string& name, const std::string& file) {
  auto it = f.tensors.find(name);
  IAPT_CHECK(it != f.tensors.end(), "{}: missing tensor '{}' (input_ids, attention_mask, instruction_mask, labels)",
             file, name);
  IAPT_CHECK(it->second.dtype() == DType::I64 && it->second.dim() == 2, "{}: '{}' must be an integer [B, T] tensor",
             file, name);
  return it->second;
}

}  // namespace

void add_grads(CLI::App& app) {
  struct Args {
    std::string config, batch, init, out;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("grads", "Loss, logits and parameter gradients of one batch (checks against other implementations)");
  cmd->add_option("--config", a->config, "experiment YAML with backbone.path and method")->required()->check(CLI::ExistingFile);
  cmd->add_option("--batch", a->batch, "safetensors: input_ids, attention_mask, instruction_mask, labels")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--init", a->init, "safetensors: every trainable parameter by canonical name")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "safetensors to write: loss, logits, gradients")->required();
  cmd->callback([a] {
    config::PeftConfig c = config::load_peft_config(a->config);
    IAPT_CHECK(!c.backbone.path.empty(), "{}: grads needs backbone.path (weights), not a shape", a->config);
    auto model = models::load_llama(c.backbone.path);
    auto method = config::make_method(c.method, model);

    method->load_canonical_state(load_safetensors(a->init).tensors, "", a->init);

    SafetensorsFile batch = load_safetensors(a->batch);
    Tensor ids = batch_tensor(batch, "input_ids", a->batch), mask = batch_tensor(batch, "attention_mask", a->batch),
           instruction = batch_tensor(batch, "instruction_mask", a->batch), labels = batch_tensor(batch, "labels", a->batch);
    const int64_t b = ids.size(0), t = ids.size(1);
    for (const Tensor* x : {&mask, &instruction, &labels})
      IAPT_CHECK(x->shape() == ids.shape(), "{}: every batch tensor must be [{}, {}]", a->batch, b, t);

    method->set_training(false);  // dropout off: a deterministic check
    Variable logits;
    Variable loss = run::response_loss(*model, *method, {ids, mask, instruction, labels}, &logits);
    loss.backward();

    std::map<std::string, Tensor> out{{"loss", loss.data()}, {"logits", logits.data()}};
    for (auto& [name, p] : method->canonical_parameters())
      out[name] = p.grad().defined() ? p.grad() : zeros(p.shape(), p.dtype());
    save_safetensors(a->out, out, {{"method", c.method.name}, {"config", a->config}});
    fmt::print("loss {:.6f}; {} gradients written to {}\n", loss.item(), out.size() - 2, a->out);
  });
}

}  // namespace iapt::cli
