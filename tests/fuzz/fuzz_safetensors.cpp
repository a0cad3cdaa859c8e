// The safetensors reader on arbitrary files: the 8-byte length, the JSON header (dtypes, shapes,
// offsets) and the data. Every tensor it accepts is read through, so an offset past the data or a
// shape larger than its bytes shows as an out-of-bounds read.
#include "core/safetensors.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = iapt::fuzz::write_input(data, size, ".safetensors");
  iapt::fuzz::expect_parsed_or_error([&] {
    const iapt::SafetensorsFile file = iapt::load_safetensors(path);
    double sum = 0;
    for (const auto& [name, tensor] : file.tensors)
      for (double v : tensor.to_vector()) sum += v;
    volatile double keep = sum;  // keeps the reads from being optimised away
    (void)keep;
  });
  return 0;
}
