#include "experiments/run/batches.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "experiments/tasks/task.h"

namespace iapt::run {

std::vector<int64_t> encode_instruction(const models::Tokenizer& tok, const std::string& instruction, int64_t max_length) {
  std::vector<int64_t> ids = tok.encode(instruction, true, false);
  if (max_length > 1 && static_cast<int64_t>(ids.size()) > max_length) {
    std::vector<int64_t> kept{ids.front()};
    kept.insert(kept.end(), ids.end() - (max_length - 1), ids.end());
    ids = std::move(kept);
  }
  return ids;
}

std::vector<int64_t> encode_response(const models::Tokenizer& tok, const std::string& response) {
  return tok.encode(response, false, true);
}

Encoded join(const std::vector<int64_t>& instruction, const std::vector<int64_t>& response) {
  Encoded out;
  out.ids = instruction;
  out.instruction_length = static_cast<int64_t>(instruction.size());
  out.ids.insert(out.ids.end(), response.begin(), response.end());
  return out;
}

Encoded encode_example(const models::Tokenizer& tok, const tasks::Example& e, int64_t max_length) {
  return join(encode_instruction(tok, e.instruction, max_length), encode_response(tok, e.response));
}

int64_t loss_tokens(const Encoded& e) {
  return std::max<int64_t>(0, std::ssize(e.ids) - std::max<int64_t>(e.instruction_length, 1));
}

Batch make_batch(const std::vector<const Encoded*>& rows, int64_t pad_id) {
  IAPT_CHECK(!rows.empty(), "make_batch: no rows");
  size_t t = 0;
  for (auto* r : rows) t = std::max(t, r->ids.size());
  const int64_t b = static_cast<int64_t>(rows.size()), tt = static_cast<int64_t>(t);
  std::vector<int64_t> ids(b * tt, pad_id), mask(b * tt, 0), instr(b * tt, 0), labels(b * tt, -100);
  Batch out;
  for (int64_t i = 0; i < b; ++i) {
    const Encoded& r = *rows[i];
    for (size_t j = 0; j < r.ids.size(); ++j) {
      ids[i * tt + j] = r.ids[j];
      mask[i * tt + j] = 1;
      const bool in_instruction = static_cast<int64_t>(j) < r.instruction_length;
      instr[i * tt + j] = in_instruction;
      if (!in_instruction) labels[i * tt + j] = r.ids[j];
    }
    out.tokens += static_cast<int64_t>(r.ids.size());
  }
  out.input_ids = from_ints(ids, {b, tt});
  out.attention_mask = from_ints(mask, {b, tt});
  out.instruction_mask = from_ints(instr, {b, tt});
  out.labels = from_ints(labels, {b, tt});
  return out;
}

std::vector<std::vector<size_t>> bucketed_batches(const std::vector<Encoded>& data, int64_t batch_size, uint64_t seed) {
  std::vector<size_t> order(data.size());
  std::iota(order.begin(), order.end(), 0);
  tasks::seeded_shuffle(order, seed);
  const size_t chunk = static_cast<size_t>(batch_size) * 50;
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < order.size(); start += chunk) {
    auto first = order.begin() + start, last = order.begin() + std::min(order.size(), start + chunk);
    std::stable_sort(first, last, [&](size_t a, size_t b) { return data[a].ids.size() < data[b].ids.size(); });
    for (auto it = first; it < last; it += batch_size)
      batches.emplace_back(it, std::min(last, it + batch_size));
  }
  tasks::seeded_shuffle(batches, seed ^ 0x9E3779B97F4A7C15ull);
  return batches;
}

BatchSchedule::BatchSchedule(const std::vector<Encoded>& data, int64_t batch_size, uint64_t seed)
    : data_(data),
      batch_size_(batch_size),
      per_epoch_((static_cast<int64_t>(data.size()) + batch_size - 1) / batch_size),
      seed_(seed) {}

Batch BatchSchedule::at(int64_t counter) { return share(counter, 0, 1).batch; }

BatchShare BatchSchedule::share(int64_t counter, int rank, int ranks) {
  IAPT_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, "batch share: rank {} of {}", rank, ranks);
  const int64_t epoch = counter / per_epoch_;
  if (epoch != epoch_loaded_) {
    epoch_batches_ = bucketed_batches(data_, batch_size_, seed_ + 1000 * static_cast<uint64_t>(epoch));
    epoch_loaded_ = epoch;
  }
  std::vector<const Encoded*> rows;
  for (size_t i : epoch_batches_[counter % per_epoch_]) rows.push_back(&data_[i]);
  BatchShare out;
  for (const Encoded* r : rows) out.global_loss_tokens += loss_tokens(*r), out.global_tokens += std::ssize(r->ids);
  const int64_t n = std::ssize(rows), begin = n * rank / ranks, end = n * (rank + 1) / ranks;
  if (begin == end) {
    out.batch = make_batch({rows.front()});
    out.batch.labels.fill_(-100);
    out.batch.tokens = 0;
    return out;
  }
  const std::vector<const Encoded*> mine(rows.begin() + begin, rows.begin() + end);
  for (const Encoded* r : mine) out.loss_tokens += loss_tokens(*r);
  out.batch = make_batch(mine);
  return out;
}

}  // namespace iapt::run
