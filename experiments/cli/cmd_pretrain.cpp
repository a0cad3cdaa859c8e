// iapt wordnet (the main job's data) and iapt pretrain (a small backbone from scratch).
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include "experiments/cli/commands.h"
#include "experiments/pretrain/pretrain.h"
#include "experiments/wordnet/wordnet_data.h"

namespace iapt::cli {

void add_wordnet(CLI::App& app) {
  struct Args {
    std::string wordnet = "/usr/share/wordnet", out;
    wordnet::TaskOptions task;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("wordnet", "Build the main job's data from WordNet 3.0: a category task and a corpus");
  cmd->add_option("--wordnet", a->wordnet, "WordNet's dict directory (data.noun, ...)")->capture_default_str();
  cmd->add_option("--out", a->out, "output directory")->required();
  cmd->add_option("--categories", a->task.categories, "noun categories of lexnames(5WN)")->capture_default_str();
  cmd->add_option("--train-per-category", a->task.train_per_category)->capture_default_str();
  cmd->add_option("--dev-per-category", a->task.dev_per_category)->capture_default_str();
  cmd->add_option("--test-per-category", a->task.test_per_category)->capture_default_str();
  cmd->add_option("--seed", a->task.seed)->capture_default_str();
  cmd->callback([a] {
    wordnet::build_task(a->wordnet, a->out, a->task);
    fmt::print("wordnet: wrote {}/{{train,dev,test}}.tsv, corpus.txt, valid.txt, manifest.json\n", a->out);
  });
}

void add_pretrain(CLI::App& app) {
  auto o = std::make_shared<pretrain::PretrainOptions>();
  auto* cmd = app.add_subcommand("pretrain", "Pretrain a small LLaMA-architecture model and its tokenizer on a text file");
  cmd->add_option("--corpus", o->corpus, "training text, one document per line")->required()->check(CLI::ExistingFile);
  cmd->add_option("--valid", o->valid, "held-out text, same format")->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out_dir, "model directory to write")->required();
  cmd->add_option("--vocab", o->vocab_size)->capture_default_str();
  cmd->add_option("--hidden", o->hidden)->capture_default_str();
  cmd->add_option("--layers", o->layers)->capture_default_str();
  cmd->add_option("--heads", o->heads)->capture_default_str();
  cmd->add_option("--kv-heads", o->kv_heads)->capture_default_str();
  cmd->add_option("--ffn", o->ffn)->capture_default_str();
  cmd->add_option("--sequence", o->sequence)->capture_default_str();
  cmd->add_option("--batch", o->batch)->capture_default_str();
  cmd->add_option("--steps", o->steps)->capture_default_str();
  cmd->add_option("--lr", o->lr)->capture_default_str();
  cmd->add_option("--seed", o->seed)->capture_default_str();
  cmd->callback([o] {
    fmt::print("pretrain: {} -> {} (d {}, {} layers, vocab {}), {} steps of {} x {} tokens\n", o->corpus, o->out_dir,
               o->hidden, o->layers, o->vocab_size, o->steps, o->batch, o->sequence);
    auto r = pretrain::pretrain(*o, [](int64_t step, int64_t steps, double loss, double tokens_per_s) {
      fmt::print("step {:5d}/{}  loss {:.4f}  {:.0f} tok/s\n", step, steps, loss, tokens_per_s);
      std::fflush(stdout);
    });
    fmt::print("pretrain: {} parameters, {} corpus tokens, loss {:.3f} -> {:.3f}", r.parameters, r.corpus_tokens,
               r.first_loss, r.last_loss);
    if (!o->valid.empty())
      fmt::print(", held-out perplexity {:.1f} -> {:.1f}", std::exp(r.valid_nll_before), std::exp(r.valid_nll_after));
    fmt::print(", {:.0f} s\n", r.seconds);
  });
}

}  // namespace iapt::cli
