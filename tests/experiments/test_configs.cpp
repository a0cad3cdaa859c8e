// Every experiment file in experiments/configs validates: each run of its sweep is a complete run
// config (a typo in a committed experiment fails here, not hours into a sweep). The backbones they
// name are stand-ins written here: a config.json is all validation reads.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "experiments/config/peft_config.h"
#include "experiments/run/run_config.h"
#include "experiments/run/sweep.h"

using namespace iapt;
namespace fs = std::filesystem;

TEST_CASE("configs: every committed experiment file expands into valid runs", "[experiments][configs]") {
  const fs::path ws = fs::temp_directory_path() / fmt::format("iapt_configs_{}", static_cast<long>(getpid()));
  fs::remove_all(ws);
  auto model_dir = [&](const fs::path& dir, const std::string& config_json) {
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << config_json;
  };
  std::ifstream small(IAPT_FIXTURE_DIR "/llama-gqa/config.json");
  std::string small_json((std::istreambuf_iterator<char>(small)), std::istreambuf_iterator<char>());
  // the fixture's 64 positions would refuse the experiments' max_length; en-llama-6m has 1,024 and
  // the main job's backbone at least 512
  const std::string positions = "\"max_position_embeddings\": 64";
  REQUIRE(small_json.find(positions) != std::string::npos);
  small_json.replace(small_json.find(positions), positions.size(), "\"max_position_embeddings\": 512");
  model_dir(ws / "shared/models/en-llama-6m", small_json);
  model_dir(ws / "main/backbone", small_json);
  model_dir(ws / "models/llama-2-7b", config::named_shape("llama-2-7b").to_json());
  setenv("IAPT_SHARED", (ws / "shared").c_str(), 1);
  setenv("IAPT_MAIN_DIR", (ws / "main").c_str(), 1);
  setenv("IAPT_MODELS", (ws / "models").c_str(), 1);
  setenv("IAPT_DATA", (ws / "data").c_str(), 1);

  int files = 0;
  for (const auto& entry : fs::directory_iterator(IAPT_SOURCE_DIR "/experiments/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    INFO(entry.path().string());
    std::vector<run::SweepRun> runs;
    REQUIRE_NOTHROW(runs = run::expand_sweep(entry.path().string()));
    REQUIRE_FALSE(runs.empty());
    const bool gpu = entry.path().stem().string().find("_gpu") != std::string::npos;
    for (const auto& r : runs) {
      run::RunConfig c = run::read_run_config(r.config, r.config_path);
      CHECK(c.device == (gpu ? "cuda" : "cpu"));
      if (gpu) CHECK(c.backbone.config.hidden_size == 4096);
    }
  }
  CHECK(files >= 11);  // main comparison and four ablations, CPU and GPU, and the main job
}

TEST_CASE("sweep: labels name only the keys asked for, whatever else the zip sets", "[experiments][configs]") {
  const fs::path ws = fs::temp_directory_path() / fmt::format("iapt_labels_{}", static_cast<long>(getpid()));
  fs::create_directories(ws);
  std::ofstream(ws / "s.yaml") << "name: s\noutput_dir: " << (ws / "runs").string()
                               << "\nbackbone: {path: " IAPT_FIXTURE_DIR "/llama-gqa}\nmethod: {name: iapt}\n"
                                  "task: {name: sst2, data_dir: data}\n"
                                  "sweep:\n  seeds: [1]\n  label: [method]\n  zip:\n"
                                  "    method: [{name: iapt, soft_tokens: 2}, {name: lora, r: 2}]\n"
                                  "    training.lr: [1e-3, 1e-2]\n";
  auto runs = run::expand_sweep((ws / "s.yaml").string());
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].label == "iapt");
  CHECK(runs[1].label == "lora");
  CHECK(runs[1].config["training"]["lr"].as<double>() == 1e-2);
}
