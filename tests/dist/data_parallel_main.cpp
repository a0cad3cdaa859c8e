// iapt_data_parallel_check: `iapt run` of one tiny IAPT run (global batch 16, 5 steps) as one
// process and as 2 MPI ranks sharing each batch; the ranks must take the same steps: the training
// losses and every tensor of the last checkpoint (parameters and Adam's moments) agree within
// 1e-5, normwise, and the evaluation the ranks share out and gather writes the same predictions (each
// example in order, its scores within 1e-5). The same run killed on 2 ranks after step 3 resumes as
// one process, and killed on rank 1 alone or rank 0 alone resumes on 2 ranks; each ends as well.
// Exit 77 (skipped) where the build has no MPI. `--device cuda` runs it all on the GPU.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "kernels/backends.h"
#include "optim/communicator.h"
#include "tests/dist/dist_checks.h"
#include "tests/tiny_sst2.h"

using namespace iapt;
namespace fs = std::filesystem;

namespace {

int shell(const std::string& command, std::string& output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The device of every run: the CPU, or the one named by --device (cuda: the GPU check's 2 ranks share
// one GPU, or each has its own).
std::string g_device = "cpu";

std::string config(const fs::path& ws, const std::string& out, int checkpoint_every = 5) {
  const std::string fx = IAPT_FIXTURE_DIR;
  return "device: " + g_device + "\n" + fmt::format(
      "name: dp\nseed: 3\noutput_dir: {}\nbackbone: {{path: {}/llama-gqa, tokenizer: {}/tiny-tokenizer/tokenizer.model}}\n"
      "method: {{name: iapt, soft_tokens: 2, bottleneck: 6, activation: {{kind: rational, version: B, degrees: [3, 2], "
      "init: gelu}}}}\ntask: {{name: sst2, data_dir: {}, max_length: 32}}\n"
      "training: {{lr: 0.01, steps: 5, batch_size: 16, eval_every: 5, checkpoint_every: {}, log_every: 1}}\n",
      (ws / out).string(), fx, fx, (ws / "data").string(), checkpoint_every);
}

std::vector<double> losses(const fs::path& run) {
  std::vector<double> out;
  std::ifstream in(run / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j["loss"].get<double>());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--device") g_device = argv[2];
  if (testing::skip_without_mpi("data-parallel equality")) return 77;
  fmt::print("device: {}\n", g_device);
  kernels::register_backends();
  const fs::path ws = fs::temp_directory_path() / fmt::format("iapt_data_parallel_{}", static_cast<long>(getpid()));
  fs::remove_all(ws);
  testing::write_tiny_sst2(ws / "data");
  std::ofstream(ws / "one.yaml") << config(ws, "one");
  std::ofstream(ws / "two.yaml") << config(ws, "two");
  std::string out1, out2;
  const int rc1 = shell(fmt::format("{} run {}", IAPT_CLI, (ws / "one.yaml").string()), out1);
  const int rc2 = shell(fmt::format("{} -n 2 --oversubscribe {} run {}", IAPT_MPIEXEC, IAPT_CLI, (ws / "two.yaml").string()),
                        out2);
  if (rc1 != 0 || rc2 != 0) {
    fmt::print("FAIL: one process exited {}, two ranks {}\n--- one process:\n{}\n--- two ranks:\n{}\n", rc1, rc2, out1, out2);
    return 1;
  }
  // 2 ranks killed after step 3 (rank 0 has checkpointed it), resumed as one process
  std::ofstream(ws / "moved.yaml") << config(ws, "moved", 1);
  std::string out3, out4;
  shell(fmt::format("IAPT_FAULT_KILL_AFTER_STEP=3 {} -n 2 --oversubscribe {} run {}", IAPT_MPIEXEC, IAPT_CLI,
                    (ws / "moved.yaml").string()),
        out3);
  const int rc4 = shell(fmt::format("{} run {}", IAPT_CLI, (ws / "moved.yaml").string()), out4);
  const fs::path one = ws / "one/dp/seed-3", two = ws / "two/dp/seed-3", moved = ws / "moved/dp/seed-3";
  int failures = 0;
  const std::vector<double> l1 = losses(one), l2 = losses(two);
  const double loss_error = l1.size() == l2.size() && l1.size() == 5 ? testing::normwise_relative(l1, l2) : 1.0;
  fmt::print("training losses, one process: {}\n", fmt::join(l1, ", "));
  fmt::print("training losses, two ranks:   {}\n", fmt::join(l2, ", "));
  fmt::print("losses: normwise relative difference {:.3g}\n", loss_error);
  if (!(loss_error <= 1e-5)) ++failures;
  const SafetensorsFile s1 = load_safetensors((one / "last/state.safetensors").string());
  auto compare = [&](const fs::path& run, const char* what) {
    const SafetensorsFile s2 = load_safetensors((run / "last/state.safetensors").string());
    double worst = 0;
    std::string worst_name;
    for (const auto& [name, t] : s1.tensors) {
      if (!s2.tensors.count(name)) {
        fmt::print("FAIL: {} is missing from the checkpoint of {}\n", name, what);
        ++failures;
        continue;
      }
      const double e = testing::normwise_relative(t.to_vector(), s2.tensors.at(name).to_vector());
      if (e > worst) worst = e, worst_name = name;
    }
    fmt::print("checkpoint of {}: {} tensors, worst normwise relative difference {:.3g} ({})\n", what,
               s1.tensors.size(), worst, worst_name);
    if (!(worst <= 1e-5) || s1.tensors.size() != s2.tensors.size()) ++failures;
  };
  compare(two, "two ranks");
  if (rc4 != 0 || out4.find("(resumed)") == std::string::npos) {
    fmt::print("FAIL: the run killed on 2 ranks did not resume as one process (exit {}):\n{}\n{}\n", rc4, out3, out4);
    ++failures;
  } else {
    compare(moved, "2 ranks killed after step 3, resumed as one process");
  }
  // one rank alone killed (the launcher then ends the other), resumed on 2 ranks
  for (const int rank : {1, 0}) {
    const std::string name = fmt::format("rank{}", rank);
    std::ofstream(ws / (name + ".yaml")) << config(ws, name, 1);
    std::string killed, resumed;
    const int rc_killed = shell(fmt::format("IAPT_FAULT_KILL_AFTER_STEP=3 IAPT_FAULT_KILL_RANK={} {} -n 2 --oversubscribe {} "
                                            "run {}",
                                            rank, IAPT_MPIEXEC, IAPT_CLI, (ws / (name + ".yaml")).string()),
                                killed);
    const int rc_resumed = shell(fmt::format("{} -n 2 --oversubscribe {} run {}", IAPT_MPIEXEC, IAPT_CLI,
                                             (ws / (name + ".yaml")).string()),
                                 resumed);
    if (rc_killed == 0 || rc_resumed != 0 || resumed.find("(resumed)") == std::string::npos) {
      fmt::print("FAIL: rank {} killed after step 3 (the launcher exited {}), resumed on 2 ranks (exit {}):\n{}\n{}\n",
                 rank, rc_killed, rc_resumed, killed, resumed);
      ++failures;
    } else {
      compare(ws / name / "dp/seed-3", fmt::format("rank {} alone killed after step 3, resumed on 2 ranks", rank).c_str());
    }
  }
  // the evaluation sharded over 2 ranks and gathered: every example, in order, with its scores
  for (const char* split : {"dev", "test"}) {
    std::ifstream a(one / "predictions" / (std::string(split) + ".jsonl")), b(two / "predictions" / (std::string(split) + ".jsonl"));
    std::vector<double> sa, sb;
    size_t lines = 0, differing = 0;
    for (std::string la, lb; std::getline(a, la);) {
      ++lines;
      if (!std::getline(b, lb)) {
        ++differing;
        break;
      }
      const auto ja = nlohmann::json::parse(la), jb = nlohmann::json::parse(lb);
      if (ja["id"] != jb["id"] || ja["gold"] != jb["gold"] || ja["prediction"] != jb["prediction"]) ++differing;
      for (auto& [choice, v] : ja["scores"].items()) sa.push_back(v), sb.push_back(jb["scores"].value(choice, 0.0));
    }
    std::string rest;
    if (std::getline(b, rest)) ++differing;  // the ranks' file has more lines
    const double e = sa.empty() ? 1.0 : testing::normwise_relative(sa, sb);
    fmt::print("predictions/{}.jsonl: {} examples, {} differ in id, gold or prediction; scores' normwise relative "
               "difference {:.3g}\n",
               split, lines, differing, e);
    if (lines == 0 || differing > 0 || !(e <= 1e-5)) ++failures, fmt::print("FAIL: the sharded {} evaluation\n", split);
  }
  auto ranks_of = [](const fs::path& run) {
    std::ifstream in(run / "summary.json");
    return in ? nlohmann::json::parse(in).value("ranks", 0) : 0;
  };
  const int ranks1 = ranks_of(one), ranks2 = ranks_of(two);
  fmt::print("summary.json: ranks {} and {}\n", ranks1, ranks2);
  if (ranks1 != 1 || ranks2 != 2) ++failures, fmt::print("FAIL: the summaries do not record 1 and 2 ranks\n");
  if (failures == 0) fs::remove_all(ws);
  fmt::print("{}\n", failures == 0 ? "PASS" : "FAIL");
  return failures == 0 ? 0 : 1;
}
