#pragma once
// Every PEFT method an experiment can name, one entry each: its options struct and their defaults,
// how its YAML section is read into them, its tunable parameter count from the backbone's shape
// alone, how it is built on a model, and where the text's positions start after its soft tokens.
// A method's entry lives in its own file, experiments/config/methods/<method>.cpp, and is listed
// by one line in experiments/config/methods/registry.inc; read_method(), method_names(),
// tunable_parameters(), make_method() and text_position_offset() (peft_config.h) look it up here.
#include <any>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "experiments/config/peft_config.h"
#include "nn/peft/activation.h"
#include "nn/peft/pooler.h"
#include "nn/peft/start.h"

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

using MethodPtr = std::shared_ptr<nn::PeftMethod>;
using ModelPtr = std::shared_ptr<models::LlamaForCausalLM>;

// The registry's view of an entry: its options held as std::any (MethodSpec::options).
struct MethodEntry {
  std::string name;
  std::function<std::any()> defaults;
  std::function<void(MethodReader&, std::any&)> read;
  std::function<int64_t(const models::LlamaConfig&, const std::any&)> count;
  // Built on `model`, whose backbone is already frozen unless trains_backbone is set.
  std::function<MethodPtr(const std::any&, const ModelPtr&, DType)> make;
  std::function<int64_t(const std::any&)> text_position_offset;
  bool trains_backbone = false;
};

// What a method's file writes: the same, on its own options struct.
template <class Options>
struct TypedMethodEntry {
  std::string name;
  Options defaults{};
  std::function<void(MethodReader&, Options&)> read;
  std::function<int64_t(const models::LlamaConfig&, const Options&)> count;
  std::function<MethodPtr(const Options&, const ModelPtr&, DType)> make;
  // Unset for methods without soft tokens: 0.
  std::function<int64_t(const Options&)> text_position_offset{};
  bool trains_backbone = false;
};

template <class Options>
MethodEntry method_entry_of(TypedMethodEntry<Options> e) {
  const std::string name = e.name;
  auto options = [name](const std::any& a) -> const Options& { return options_as<Options>(a, name); };
  MethodEntry out;
  out.name = e.name;
  out.trains_backbone = e.trains_backbone;
  out.defaults = [d = e.defaults] { return std::any(d); };
  out.read = [read = e.read, options](MethodReader& r, std::any& a) { read(r, const_cast<Options&>(options(a))); };
  out.count = [count = e.count, options](const models::LlamaConfig& c, const std::any& a) { return count(c, options(a)); };
  out.make = [make = e.make, options](const std::any& a, const ModelPtr& m, DType d) { return make(options(a), m, d); };
  out.text_position_offset = [offset = e.text_position_offset, options](const std::any& a) {
    return offset ? offset(options(a)) : int64_t{0};
  };
  return out;
}

// Parts several methods read alike.
nn::ActivationSpec read_activation(YamlMap a);
// method.start: for each part, its start (default, zero or normal) under the part's name and its
// standard deviation under `part`_std; what is not given keeps the part's own.
void read_starts(YamlMap& m, std::initializer_list<std::pair<const char*, nn::ParameterStart*>> parts);
nn::PoolerKind read_pooler(YamlMap& m);

// The shape's sizes the counts are written in.
struct Sizes {
  int64_t d, kv, f, layers;
  explicit Sizes(const models::LlamaConfig& c)
      : d(c.hidden_size), kv(c.num_key_value_heads * (c.hidden_size / c.num_attention_heads)), f(c.intermediate_size),
        layers(c.num_hidden_layers) {}
};

const std::vector<MethodEntry>& methods();
// The entry named `name`; an error for a name no entry has.
const MethodEntry& method_entry(const std::string& name);

}  // namespace iapt::config
