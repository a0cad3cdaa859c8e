#pragma once
// A run's adapter as Hugging Face PEFT saves one (save_pretrained): a folder with
// adapter_config.json and adapter_model.safetensors, under PEFT's own key names and config fields,
// and back. LoRA, prompt tuning, P-tuning v2 (PEFT's prefix tuning) and (IA)^3 are PEFT types; IAPT
// is not, and goes out in the same two files with "peft_type": "IAPT" and iapt's canonical names
// (README: "Adapters in PEFT's files"), which only `iapt import` reads.
#include <string>

namespace iapt::run {

// Writes RUN's best weights (RUN or RUN/best) into OUT as PEFT's two files.
void export_peft(const std::string& run_dir, const std::string& out_dir);

// Makes OUT a run folder holding the adapter of PEFT_DIR (OUT/config.yaml, OUT/best/config.yaml
// and OUT/best/adapter.safetensors), so that eval, generate --adapter and score --adapter use it:
// the experiment `config_file` gives the backbone, task and the rest, the PEFT folder the method
// and its weights (the experiment's method section is replaced). The weights are loaded onto the
// backbone once, as a check. Returns the method's name.
std::string import_peft(const std::string& peft_dir, const std::string& config_file, const std::string& out_dir);

}  // namespace iapt::run
