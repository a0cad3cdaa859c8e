#pragma once
// Hugging Face model directories: config.json and model.safetensors, or shards listed in
// model.safetensors.index.json. Tensors in f32, bf16 or f16 files are converted to the model's
// dtype on load. Saving writes the same layout (one file), through a temporary file and a rename.
#include <memory>
#include <string>

#include "models/llama.h"

namespace iapt::models {

// Every error names the file and, for tensors, the tensor: a missing tensor, a wrong shape, a
// truncated file, an unexpected tensor.
std::shared_ptr<LlamaForCausalLM> load_llama(const std::string& dir, DType dtype = DType::F32);
// With 16-bit weights (Precision::weights BF16 or F16): a file that stores them so is memory-mapped
// and adopted as it is, nothing copied.
std::shared_ptr<LlamaForCausalLM> load_llama(const std::string& dir, Precision precision);
void save_llama(const LlamaForCausalLM& model, const std::string& dir);

}  // namespace iapt::models
