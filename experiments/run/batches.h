#pragma once
// Examples as token ids, and batches of them. A sequence is the instruction's tokens (BOS first;
// when longer than max_length, BOS and the last max_length - 1 tokens are kept, so the template's
// question survives) followed by the response's tokens and EOS. The loss counts the response and
// EOS only; the instruction mask marks the instruction (what IAPT's generators read).
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "experiments/tasks/example.h"
#include "models/tokenizer.h"

namespace iapt::run {

struct Encoded {
  std::vector<int64_t> ids;
  int64_t instruction_length = 0;
};

std::vector<int64_t> encode_instruction(const models::Tokenizer& tok, const std::string& instruction, int64_t max_length);
std::vector<int64_t> encode_response(const models::Tokenizer& tok, const std::string& response);  // + EOS
Encoded encode_example(const models::Tokenizer& tok, const tasks::Example& e, int64_t max_length);
// An encoded instruction followed by an encoded response.
Encoded join(const std::vector<int64_t>& instruction, const std::vector<int64_t>& response);

struct Batch {
  Tensor input_ids, attention_mask, instruction_mask, labels;  // i64 [B, T], right-padded
  int64_t tokens = 0;                                          // real tokens in the batch
};

// Right-padded with pad_id; labels are the ids on response tokens and -100 elsewhere (the model
// shifts them: position t predicts label t + 1).
Batch make_batch(const std::vector<const Encoded*>& rows, int64_t pad_id = 0);

// One epoch's batches of example indices: a seeded shuffle, then chunks of 50 batches sorted by
// length (little padding), then the batches themselves shuffled.
std::vector<std::vector<size_t>> bucketed_batches(const std::vector<Encoded>& data, int64_t batch_size, uint64_t seed);

// Positions whose next token the loss counts (response tokens and EOS, never position 0's).
int64_t loss_tokens(const Encoded& e);

// One data-parallel rank's part of a global batch: rows [rank B / ranks, (rank + 1) B / ranks)
// of its B rows. Its mean loss weighs loss_tokens / global_loss_tokens in the global batch's mean,
// so that the ranks' weighted gradients sum to the one process's. A rank whose part is empty (an
// epoch's last batch, smaller than the rank count) gets the batch's first row with no token
// counted: a zero loss, and zero gradients that every parameter still has.
struct BatchShare {
  Batch batch;
  int64_t loss_tokens = 0, global_loss_tokens = 0;
  int64_t global_tokens = 0;  // real tokens in the whole batch (throughput)
  double weight() const {
    return global_loss_tokens > 0 ? static_cast<double>(loss_tokens) / static_cast<double>(global_loss_tokens) : 1.0;
  }
};

// A run's batch schedule: the n-th micro-batch of the run is a function of n alone (epoch e is
// bucketed_batches with seed + 1000 e), so a resumed run draws exactly the batches it would have,
// whatever the number of ranks that shares it.
class BatchSchedule {
 public:
  BatchSchedule(const std::vector<Encoded>& data, int64_t batch_size, uint64_t seed);
  Batch at(int64_t counter);
  BatchShare share(int64_t counter, int rank, int ranks);

 private:
  const std::vector<Encoded>& data_;
  int64_t batch_size_, per_epoch_;
  uint64_t seed_;
  int64_t epoch_loaded_ = -1;
  std::vector<std::vector<size_t>> epoch_batches_;
};

}  // namespace iapt::run
