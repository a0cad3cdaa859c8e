#pragma once
// Every PEFT method an experiment can name, one entry each: how its YAML options are read, its
// tunable parameter count from the backbone's shape alone, how it is built on a model, and where
// the text's positions start after its soft tokens. Adding a method to the configs is one entry in
// methods.cpp; read_method(), method_names(), tunable_parameters(), make_method() and
// text_position_offset() (experiments/config/peft_config.h) look it up here.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "experiments/config/peft_config.h"

namespace iapt::config {

// The method section being read, with the bounds every method shares.
struct MethodReader {
  YamlMap& m;
  const models::LlamaConfig& backbone;
  // Soft tokens take positions of the model's context.
  int64_t soft_tokens(int64_t fallback) const;
  // A size (bottleneck, rank, width), bounded far below an overflow.
  int64_t size(const std::string& key, int64_t fallback) const;
};

struct MethodEntry {
  std::string name;
  std::function<void(MethodReader&, MethodSpec&)> read;
  std::function<int64_t(const models::LlamaConfig&, const MethodSpec&)> count;
  // Built on `model`, whose backbone is already frozen unless trains_backbone is set.
  std::function<std::shared_ptr<nn::PeftMethod>(const MethodSpec&, const std::shared_ptr<models::LlamaForCausalLM>&, DType)>
      make;
  // The method's text_position_offset(), known before it is built: 0 for methods without soft tokens.
  std::function<int64_t(const MethodSpec&)> text_position_offset = [](const MethodSpec&) { return int64_t{0}; };
  bool trains_backbone = false;
};

const std::vector<MethodEntry>& methods();
// The entry named `name`; an error for a name no entry has.
const MethodEntry& method_entry(const std::string& name);

}  // namespace iapt::config
