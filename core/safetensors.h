#pragma once
// Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}}, then the raw little-endian data.
// Read: the file is memory-mapped copy-on-write; F32, F64, I64, BF16 and F16 tensors keep their
// type and alias the mapping (read on first use, never copied): a 16-bit checkpoint costs its own
// size, not twice it. I32, I8, U8 and BOOL are widened to I64.
// Write: every dtype as it is, through a temporary file renamed into place, so a crash never leaves a
// half-written file under the final name.
#include <map>
#include <string>

#include "core/tensor.h"

namespace iapt {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> stored_dtypes;  // as the file has them ("I32"), for messages
};

SafetensorsFile load_safetensors(const std::string& path);
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace iapt
