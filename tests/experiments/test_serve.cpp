// The tenant registry (a directory of run-style folders) round-trips tenants and refuses mixed
// methods; the serving benchmark runs each method on the fixture model.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "core/ops.h"
#include "experiments/serve/serve_bench.h"
#include "experiments/serve/tenants.h"
#include "models/checkpoint.h"
#include "nn/peft/lora.h"

using namespace iapt;
namespace fs = std::filesystem;

TEST_CASE("serve: tenants saved to a registry load back, and mixed methods are refused", "[serve]") {
  const fs::path dir = fs::temp_directory_path() / fmt::format("iapt_tenants_{}", static_cast<long>(getpid()));
  fs::remove_all(dir);
  auto model = models::load_llama(IAPT_FIXTURE_DIR "/llama-gqa");
  auto lora = serve::random_tenants(model, "{name: lora, r: 2, alpha: 4, targets: [q, v]}", 3, 5);
  for (const auto& t : lora) serve::save_tenant((dir / "lora").string(), t);
  auto loaded = serve::load_tenants((dir / "lora").string(), model->config);
  REQUIRE(loaded.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(loaded[i].name == lora[i].name);
    CHECK(loaded[i].method.get<nn::LoraOptions>().r == 2);
    REQUIRE(loaded[i].state.size() == lora[i].state.size());
    for (auto& [name, v] : lora[i].state)
      CHECK(ops::amax(ops::unary(UnaryOp::Abs, ops::sub(loaded[i].state.at(name), v)), {}, false).item() == 0.0);
  }
  CHECK(ops::amax(ops::unary(UnaryOp::Abs, ops::sub(lora[0].state.begin()->second, lora[1].state.begin()->second)), {},
                  false).item() > 0);
  auto iapt = serve::random_tenants(model, "{name: iapt, soft_tokens: 2, bottleneck: 4}", 1, 6);
  serve::save_tenant((dir / "lora").string(), iapt[0]);
  CHECK_THROWS_WITH(serve::load_tenants((dir / "lora").string(), model->config), Catch::Contains("different methods"));
}

TEST_CASE("serve: the benchmark generates for every method", "[serve]") {
  auto model = models::load_llama(IAPT_FIXTURE_DIR "/llama-gqa");
  for (const char* method : {"none", "iapt", "lora"}) {
    serve::ServeBenchOptions o;
    o.method = method;
    o.iapt_method = "{name: iapt, soft_tokens: 2, bottleneck: 4}";
    o.lora_method = "{name: lora, r: 2, alpha: 4, targets: [q, v]}";
    o.tenants = 3;
    o.batch = 4;
    o.prompt_len = 5;
    o.new_tokens = 3;
    o.repeats = 1;
    auto r = serve::bench_serve(model, o);
    INFO(method);
    CHECK(r.tokens_per_s > 0);
    CHECK(r.ttft_ms > 0);
    CHECK(r.peak_mb > 0);
    CHECK((r.adapter_parameters > 0) == (std::string(method) != "none"));
  }
}
