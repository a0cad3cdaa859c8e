#pragma once
// A run's diagnostics.jsonl: what a researcher needs to see why a method learns or does not.
//   {"step": 0, "start": {...}}   how far the method's start is from the frozen model (start_distance)
//   {"step": N, "grad_norm": {group: ...}, "update_norm": {...}, "param_norm": {...},
//    "forward": {"layer3.prefix_key_norm": ..., "layer3.text_key_norm": ..., "layer3.pooler_entropy": ...}}
// A group is a parameter's canonical name without its layer ("iapt.up.weight" for every
// "iapt.layers.N.up.weight"): norms are over all of a group's tensors. Gradient norms are taken
// before clipping; the update is the step's change of the parameters (learning rate included).
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/peft/method.h"

namespace iapt::run {

// The group of a canonical parameter name: "layers.N." removed.
std::string parameter_group(const std::string& canonical_name);

class Diagnostics {
 public:
  // Records every `every` steps (and the first) into `path`, appending when `append`.
  Diagnostics(const std::string& path, nn::PeftMethod& method, int64_t every, bool append);
  bool due(int64_t step) const { return step == 0 || (step + 1) % every_ == 0; }
  void begin_step(int64_t step);  // snapshots the parameters and turns the forward statistics on
  void read_gradients();          // after the backward pass, before clipping
  void end_step(int64_t step);    // the update, the parameters' norms and the line
  void write(const nlohmann::json& line);

 private:
  nn::PeftMethod& method_;
  std::vector<std::pair<std::string, Variable>> params_;
  int64_t every_;
  std::string path_;
  bool recording_ = false;
  std::vector<Tensor> before_;
  std::map<std::string, double> grad_sq_;
};

// How far a method's logits at its start are from the frozen backbone's on one batch: the mean
// over real positions of KL(frozen || method) of the next-token distributions, the largest change
// of a logit, and the response loss of each. logits [B, T, V]; attention_mask and labels [B, T]
// (labels as in training: position t predicts label t + 1, -100 ignored).
nlohmann::json start_distance(const Tensor& frozen_logits, const Tensor& method_logits, const Tensor& attention_mask,
                              const Tensor& labels);

}  // namespace iapt::run
