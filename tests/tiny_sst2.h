#pragma once
// A small SST-2-format task in the tiny fixture tokenizer's words ("the film was good", ...): 64
// training and 24 dev sentences, balanced, under DATA_DIR/glue/SST-2, for tests that run `iapt run`.
#include <filesystem>
#include <fstream>
#include <string>

namespace iapt::testing {

inline void write_tiny_sst2(const std::filesystem::path& data_dir) {
  const std::filesystem::path dir = data_dir / "glue/SST-2";
  std::filesystem::create_directories(dir);
  const char* good[] = {"good", "great", "fine", "nice", "lovely", "superb"};
  const char* bad[] = {"bad", "awful", "poor", "dull", "boring", "weak"};
  const char* nouns[] = {"film", "movie", "plot", "cast", "story", "music"};
  auto rows = [&](int n, int offset) {
    std::string s = "sentence\tlabel\n";
    for (int i = 0; i < n; ++i) {
      const bool positive = (i + offset) % 2 == 0;
      s += std::string("the ") + nouns[(i * 5 + offset) % 6] + " was " + (positive ? good : bad)[(i * 7 + offset) % 6] +
           "\t" + (positive ? "1" : "0") + "\n";
    }
    return s;
  };
  std::ofstream(dir / "train.tsv") << rows(64, 0);
  std::ofstream(dir / "dev.tsv") << rows(24, 1);
}

}  // namespace iapt::testing
