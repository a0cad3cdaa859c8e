#pragma once
// A finished 4-run sweep (the rate 1e-9 or 3e-2, seeds 1 and 2, 4 steps of the tiny task) and its
// `iapt report --html`, for the tests of report.html: the folder it is in.
#include "tests/experiments/cli_run.h"

namespace iapt::testing {

inline fs::path reported_sweep(const fs::path& ws) {
  std::ofstream(ws / "rates.yaml") << sweep_text(ws, "rates", 4);
  const Result sweep =
      run_cli("sweep " + (ws / "rates.yaml").string() + " --set training.lr=1e-9,3e-2 --set 'sweep.seeds=[1, 2]'");
  INFO(sweep.output);
  REQUIRE(sweep.exit_code == 0);
  const fs::path dir = ws / "sweeps/rates";
  const Result report = run_cli("report " + dir.string() + " --html");
  INFO(report.output);
  REQUIRE(report.exit_code == 0);
  REQUIRE(report.output.find("wrote " + (dir / "report.html").string()) != std::string::npos);
  return dir;
}

}  // namespace iapt::testing
