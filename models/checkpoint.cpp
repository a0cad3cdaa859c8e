#include "models/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "nn/skip_init.h"

namespace iapt::models {

namespace fs = std::filesystem;

namespace {

// name -> tensor over every file of the checkpoint, remembering which file held each name.
struct CheckpointTensors {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> file_of;
};

CheckpointTensors read_tensors(const fs::path& dir) {
  CheckpointTensors out;
  const fs::path single = dir / "model.safetensors", index = dir / "model.safetensors.index.json";
  std::vector<fs::path> files;
  if (fs::exists(index)) {
    std::ifstream in(index);
    nlohmann::json j;
    try {
      in >> j;
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}: not valid JSON: {}", index.string(), e.what()));
    }
    IAPT_CHECK(j.contains("weight_map") && j["weight_map"].is_object(), "{}: no 'weight_map' object", index.string());
    std::set<std::string> shard_names;
    for (auto& [name, file] : j["weight_map"].items()) shard_names.insert(file.get<std::string>());
    for (const auto& s : shard_names) files.push_back(dir / s);
    for (const auto& f : files) IAPT_CHECK(fs::exists(f), "{}: lists shard {}, which does not exist", index.string(), f.string());
  } else {
    IAPT_CHECK(fs::exists(single), "{}: neither model.safetensors nor model.safetensors.index.json", dir.string());
    files.push_back(single);
  }
  for (const auto& f : files) {
    SafetensorsFile st = load_safetensors(f.string());
    for (auto& [name, t] : st.tensors) {
      IAPT_CHECK(!out.tensors.count(name), "{}: tensor '{}' appears again (first in {})", f.string(), name,
                 out.file_of[name]);
      // named as the file has it: an I32 tensor is widened to i64 on load, and "i64" would mislead
      IAPT_CHECK(is_floating(t.dtype()), "{}: tensor '{}' is stored as {}; a model's weights are floating point "
                                         "(F32, F16, BF16 or F64)", f.string(), name, st.stored_dtypes[name]);
      out.tensors[name] = std::move(t);
      out.file_of[name] = f.string();
    }
  }
  return out;
}

}  // namespace

std::shared_ptr<LlamaForCausalLM> load_llama(const std::string& dir, DType dtype) {
  return load_llama(dir, Precision{dtype, dtype});
}

std::shared_ptr<LlamaForCausalLM> load_llama(const std::string& dir_str, Precision precision) {
  const fs::path dir(dir_str);
  IAPT_CHECK(fs::is_directory(dir), "{}: not a model directory", dir_str);
  LlamaConfig config = LlamaConfig::from_json_file((dir / "config.json").string());
  // every parameter comes from the checkpoint (load_state_dict refuses one that lacks any)
  std::shared_ptr<LlamaForCausalLM> model;
  {
    nn::SkipInit skip;
    model = std::make_shared<LlamaForCausalLM>(config, precision);
  }
  CheckpointTensors ck = read_tensors(dir);
  // A tied checkpoint may still carry lm_head.weight (a copy of the embeddings): not needed.
  if (config.tie_word_embeddings) ck.tensors.erase("lm_head.weight");
  const std::string source = dir_str;
  std::vector<std::string> unused = model->load_state_dict(ck.tensors, source);
  // RoPE frequency buffers some exporters store are recomputed here, not read.
  std::erase_if(unused, [](const std::string& n) { return n.ends_with("rotary_emb.inv_freq"); });
  IAPT_CHECK(unused.empty(), "{}: tensor '{}' in {} matches no parameter of a LLaMA model with this config.json",
             dir_str, unused.front(), ck.file_of[unused.front()]);
  return model;
}

void save_llama(const LlamaForCausalLM& model, const std::string& dir_str) {
  const fs::path dir(dir_str);
  fs::create_directories(dir);
  save_safetensors((dir / "model.safetensors").string(), model.state_dict(), {{"format", "pt"}});
  write_text_atomically((dir / "config.json").string(), model.config.to_json());
}

}  // namespace iapt::models
