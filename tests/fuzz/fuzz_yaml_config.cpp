// The YAML readers on arbitrary text: an experiment's run config (every section, every range and
// relation check), a PEFT config as `iapt params --config` reads it, and a task definition.
#include "experiments/config/peft_config.h"
#include "experiments/run/run_config.h"
#include "experiments/tasks/task.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = iapt::fuzz::write_input(data, size, ".yaml");
  iapt::fuzz::expect_parsed_or_error([&] { (void)iapt::run::load_run_config(path); });
  iapt::fuzz::expect_parsed_or_error([&] { (void)iapt::config::load_peft_config(path); });
  iapt::fuzz::expect_parsed_or_error([&] { (void)iapt::tasks::load_task(path, IAPT_TASK_DEFS_DIR); });
  return 0;
}
