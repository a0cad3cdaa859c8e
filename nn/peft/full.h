#pragma once
// Full fine-tuning: every backbone parameter trains, under its own Hugging Face name.
#include <memory>

#include "nn/peft/method.h"

namespace iapt::nn {

class FullFineTuning : public PeftMethod {
 public:
  explicit FullFineTuning(std::shared_ptr<Module> model) : PeftMethod(""), model_(std::move(model)) { model_->unfreeze(); }
  std::string name() const override { return "full"; }
  std::vector<std::pair<std::string, Variable>> canonical_parameters() const override {
    return model_->named_parameters();
  }

 private:
  std::shared_ptr<Module> model_;
};

}  // namespace iapt::nn
