#pragma once
// The README's main job for now: a one-layer model of the LLaMA decoder (RMSNorm, RoPE attention,
// SwiGLU) trained from scratch with this engine on a synthetic copy task: each sequence is a random
// half followed by the same half again, and the loss counts the second half only. Attending back
// half a sequence solves it, so the loss falls from ln(vocab) towards zero.
#include <cstdint>
#include <functional>
#include <vector>

namespace iapt::demo {

struct TinyLmOptions {
  int64_t vocab = 16;
  int64_t half_length = 8;  // sequence length is twice this
  int64_t dim = 32;
  int64_t heads = 2;
  int64_t ffn = 64;
  int64_t batch = 16;
  int64_t steps = 600;
  double lr = 3e-3;
  uint64_t seed = 0;
};

struct TinyLmResult {
  std::vector<double> losses;      // one per step
  double mean_step_ms = 0;         // forward + backward + AdamW, averaged over the steps
  double copy_accuracy = 0;        // greedy accuracy on the copied half of a fresh batch
  int64_t parameters = 0;
};

TinyLmResult train_tiny_lm(const TinyLmOptions& options,
                           const std::function<void(int64_t step, double loss)>& on_step = nullptr);

}  // namespace iapt::demo
