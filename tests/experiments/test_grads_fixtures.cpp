// `iapt grads` against a PyTorch reference of IAPT and of LoRA (tests/reference/make_peft_fixtures.py):
// the command line runs on the committed batch and parameters, and its loss, logits and every
// gradient must match the reference's at f32 tolerance.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/safetensors.h"

using namespace iapt;

namespace {

std::string peft(const std::string& file) { return std::string(IAPT_FIXTURE_DIR) + "/peft/" + file; }

void check_method(const std::string& method) {
  const auto out = (std::filesystem::temp_directory_path() / ("iapt_grads_" + method + ".safetensors")).string();
  const std::string cmd = std::string(IAPT_CLI) + " grads --config '" + peft(method + ".yaml") + "' --batch '" +
                          peft("batch.safetensors") + "' --init '" + peft(method + "-init.safetensors") + "' --out '" +
                          out + "' > /dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  auto got = load_safetensors(out).tensors;
  auto want = load_safetensors(peft(method + "-expected.safetensors")).tensors;
  REQUIRE(got.size() == want.size());
  double worst_rel = 0;
  std::string worst_name;
  for (auto& [name, w] : want) {
    INFO(method << " " << name);
    REQUIRE(got.count(name));
    REQUIRE(got.at(name).shape() == w.shape());
    auto g = got.at(name).to_vector(), e = w.to_vector();
    double worst_score = 0;
    for (size_t i = 0; i < e.size(); ++i) {
      const double err = std::abs(g[i] - e[i]);
      worst_score = std::max(worst_score, std::isfinite(g[i]) ? err / (1e-5 + 1e-4 * std::abs(e[i])) : 1e30);
      if (std::abs(e[i]) > 1e-3 && err / std::abs(e[i]) > worst_rel) worst_rel = err / std::abs(e[i]), worst_name = name;
    }
    CHECK(worst_score <= 1.0);
  }
  if (std::getenv("IAPT_FIXTURE_VERBOSE")) std::printf("%s: worst relative error %.3g at %s\n", method.c_str(), worst_rel, worst_name.c_str());
}

}  // namespace

TEST_CASE("iapt grads: IAPT matches its PyTorch reference", "[experiments][reference]") { check_method("iapt"); }
TEST_CASE("iapt grads: LoRA matches its PyTorch reference", "[experiments][reference]") { check_method("lora"); }

TEST_CASE("iapt grads: parameters that do not fit the method are named in the error", "[experiments]") {
  const std::string cmd = std::string(IAPT_CLI) + " grads --config '" + peft("iapt.yaml") + "' --batch '" +
                          peft("batch.safetensors") + "' --init '" + peft("lora-init.safetensors") +
                          "' --out /dev/null 2>&1";
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  CHECK(pclose(pipe) != 0);
  CHECK_THAT(out, Catch::Contains("lora-init.safetensors: missing parameter 'iapt.layers.0.down.weight' (shape [8, 32])"));
}
