#include "experiments/pretrain/pretrain.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/rng.h"
#include "models/checkpoint.h"
#include "models/evaluation.h"
#include "models/llama.h"
#include "models/tokenizer/sentencepiece_tokenizer.h"
#include "optim/clip.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"

#ifdef IAPT_HAS_SENTENCEPIECE_TRAIN
#include <sentencepiece_trainer.h>
#endif

namespace iapt::pretrain {

namespace fs = std::filesystem;

namespace {

// LLaMA's special ids (unk 0, BOS 1, EOS 2), which the model's config.json repeats. The vocabulary
// may come out smaller than asked on a small corpus (hard_vocab_limit=false); the model takes its size.
void train_tokenizer(const PretrainOptions& o, const std::string& model_prefix) {
  const std::string args =
      "--input=" + o.corpus + " --model_prefix=" + model_prefix + " --vocab_size=" + std::to_string(o.vocab_size) +
      " --model_type=unigram --character_coverage=1.0 --hard_vocab_limit=false --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1"
      // every line up to 1M is read, so no random sampling makes the vocabulary differ between runs
      " --input_sentence_size=1000000 --num_threads=2 --minloglevel=2";
#ifdef IAPT_HAS_SENTENCEPIECE_TRAIN
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  IAPT_CHECK(status.ok(), "{}: training the SentencePiece tokenizer failed: {}", o.corpus, status.ToString());
#else
  throw Error(fmt::format("pretrain: this build has no libsentencepiece_train (Debian's libsentencepiece-dev); cannot run {}", args));
#endif
}

// Every line as [BOS] tokens [EOS], concatenated: the stream windows are drawn from.
std::vector<int64_t> line_stream(const models::Tokenizer& tok, const std::string& path) {
  std::ifstream in(path);
  IAPT_CHECK(in.is_open(), "{}: cannot open", path);
  std::vector<int64_t> ids =
      models::token_stream(tok, std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()), "lines");
  IAPT_CHECK(!ids.empty(), "{}: no text", path);
  return ids;
}

// ids [B, T] and targets [B*T]: windows of T + 1 tokens at uniform random starts.
std::pair<Tensor, Tensor> random_windows(const std::vector<int64_t>& stream, int64_t batch, int64_t t) {
  Tensor u = rand({batch}, DType::F64);
  const int64_t starts = static_cast<int64_t>(stream.size()) - t - 1;
  std::vector<int64_t> ids(batch * t), targets(batch * t);
  for (int64_t r = 0; r < batch; ++r) {
    const int64_t s = std::min<int64_t>(static_cast<int64_t>(u.at({r}) * static_cast<double>(starts)), starts - 1);
    for (int64_t j = 0; j < t; ++j) {
      ids[r * t + j] = stream[s + j];
      targets[r * t + j] = stream[s + j + 1];
    }
  }
  return {from_ints(ids, {batch, t}), from_ints(targets, {batch * t})};
}

}  // namespace

PretrainResult pretrain(const PretrainOptions& o, const PretrainProgress& progress) {
  IAPT_CHECK(!o.corpus.empty() && !o.out_dir.empty(), "pretrain: a corpus and an output directory are required");
  IAPT_CHECK(o.steps > 0 && o.batch > 0 && o.sequence > 1, "pretrain: steps, batch and sequence must be positive");
  manual_seed(o.seed);
  const auto start = std::chrono::steady_clock::now();
  fs::create_directories(o.out_dir);
  const fs::path dir(o.out_dir);

  // The tokenizer is written under a temporary prefix and renamed, like every other output.
  const std::string prefix = (dir / "tokenizer.training").string();
  train_tokenizer(o, prefix);
  fs::rename(prefix + ".model", dir / "tokenizer.model");
  fs::remove(prefix + ".vocab");
  models::SentencePieceTokenizer tok((dir / "tokenizer.model").string());

  const std::vector<int64_t> stream = line_stream(tok, o.corpus);
  IAPT_CHECK(static_cast<int64_t>(stream.size()) > o.sequence + 1, "{}: {} tokens, fewer than one window of {}",
             o.corpus, stream.size(), o.sequence + 1);
  const std::vector<int64_t> valid = o.valid.empty() ? std::vector<int64_t>{} : line_stream(tok, o.valid);

  models::LlamaConfig c;
  c.vocab_size = tok.vocab_size();
  c.hidden_size = o.hidden;
  c.intermediate_size = o.ffn;
  c.num_hidden_layers = o.layers;
  c.num_attention_heads = o.heads;
  c.num_key_value_heads = o.kv_heads;
  c.rms_norm_eps = 1e-5;
  c.max_position_embeddings = std::max<int64_t>(512, o.sequence);
  c.bos_token_id = tok.bos_id();
  c.eos_token_id = tok.eos_id();
  models::LlamaForCausalLM model(c);

  PretrainResult r;
  r.parameters = model.parameter_count();
  r.corpus_tokens = static_cast<int64_t>(stream.size());
  auto valid_nll = [&] {
    NoGradGuard no_grad;
    return valid.empty() ? 0.0 : models::perplexity(model, valid, o.sequence, o.batch).nll_per_token;
  };
  r.valid_nll_before = valid_nll();

  optim::AdamW opt(model.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay});
  optim::Schedule schedule{.kind = "cosine",
                           .warmup_steps = static_cast<int64_t>(o.warmup_ratio * static_cast<double>(o.steps)),
                           .total_steps = o.steps,
                           .min_ratio = 0.1};
  const int64_t window = std::max<int64_t>(1, std::min<int64_t>(50, o.steps / 4));
  double first_sum = 0, last_sum = 0;
  auto timer = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < o.steps; ++step) {
    auto [ids, targets] = random_windows(stream, o.batch, o.sequence);
    Variable logits = model.forward(ids);  // [B, T, V]
    Variable loss = cross_entropy(reshape(logits, {-1, c.vocab_size}), targets);
    opt.zero_grad();
    loss.backward();
    optim::clip_grad_norm(model.parameters(), 1.0);
    opt.set_lr_scale(schedule.multiplier(step));
    opt.step();
    const double l = loss.item();
    IAPT_CHECK(std::isfinite(l), "pretrain: the loss became {} at step {}; lower --lr", l, step);
    if (step < window) first_sum += l;
    if (step >= o.steps - window) last_sum += l;
    if (progress && ((step + 1) % 50 == 0 || step + 1 == o.steps)) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - timer).count();
      progress(step + 1, o.steps, l, static_cast<double>(o.batch * o.sequence * 50) / s);
      timer = std::chrono::steady_clock::now();
    }
  }
  r.trained_tokens = o.steps * o.batch * o.sequence;
  r.first_loss = first_sum / static_cast<double>(window);
  r.last_loss = last_sum / static_cast<double>(window);
  r.valid_nll_after = valid_nll();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  models::save_llama(model, o.out_dir);
  nlohmann::ordered_json j;
  j["corpus"] = fs::absolute(o.corpus).string();
  j["corpus_tokens"] = r.corpus_tokens;
  j["steps"] = o.steps;
  j["batch"] = o.batch;
  j["sequence"] = o.sequence;
  j["lr"] = o.lr;
  j["seed"] = o.seed;
  j["parameters"] = r.parameters;
  j["train_loss_first_steps"] = r.first_loss;
  j["train_loss_last_steps"] = r.last_loss;
  j["loss_window_steps"] = window;
  if (!valid.empty()) {
    j["valid"] = fs::absolute(o.valid).string();
    j["valid_nll_per_token_before"] = r.valid_nll_before;
    j["valid_nll_per_token"] = r.valid_nll_after;
    j["valid_perplexity"] = std::exp(r.valid_nll_after);
  }
  j["seconds"] = r.seconds;
  write_text_atomically((dir / "training.json").string(), j.dump(2) + "\n");
  return r;
}

}  // namespace iapt::pretrain
