// The prompt-tuning entry: nn::PromptTuningOptions from method: {name: prompt_tuning, soft_tokens,
// start: {embedding: vocabulary | random, embedding_std}}.
#include "experiments/config/methods.h"
#include "nn/peft/prompts.h"

namespace iapt::config {

MethodEntry prompt_tuning_method() {
  return method_entry_of(TypedMethodEntry<nn::PromptTuningOptions>{
      .name = "prompt_tuning",
      .read =
          [](MethodReader& r, nn::PromptTuningOptions& o) {
            o.soft_tokens = r.soft_tokens(20);
            YamlMap start = r.m.map("start");
            o.from_vocabulary = start.choice("embedding", "vocabulary", {"vocabulary", "random"}) == "vocabulary";
            o.random_std = start.get_above("embedding_std", o.random_std, 0.0);
            start.finish();
          },
      .count = [](const models::LlamaConfig& c, const nn::PromptTuningOptions& o) { return o.soft_tokens * c.hidden_size; },
      .make = [](const nn::PromptTuningOptions& o, const ModelPtr& model, DType dtype) -> MethodPtr {
        return std::make_shared<nn::PromptTuning>(o.soft_tokens, model->config.hidden_size,
                                                  o.from_vocabulary ? model->model->embed_tokens->weight.data() : Tensor(),
                                                  dtype, o.random_std);
      },
      .text_position_offset = [](const nn::PromptTuningOptions& o) { return o.soft_tokens; },
  });
}

}  // namespace iapt::config
