// iapt perplexity: mean negative log-likelihood per predicted token over a text file, in
// non-overlapping windows; in each window every token after the first is predicted from the
// window's earlier tokens (the protocol of the en-llama models' training.json).
//   raw:        the whole file as one stream, [BOS] + tokens(text)
//   paragraphs: blank-line separated paragraphs, each line-joined, as [BOS] text [EOS], concatenated
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "autograd/functions.h"
#include "core/error.h"
#include "experiments/cli/commands.h"
#include "models/checkpoint.h"
#include "models/tokenizer.h"

namespace iapt::cli {

namespace {

std::vector<int64_t> stream_tokens(const models::Tokenizer& tok, const std::string& text, const std::string& format) {
  if (format == "raw") return tok.encode(text, true, false);
  std::vector<int64_t> ids;
  std::istringstream in(text);
  std::string line, paragraph;
  auto flush = [&] {
    if (paragraph.empty()) return;
    auto p = tok.encode(paragraph, true, true);
    ids.insert(ids.end(), p.begin(), p.end());
    paragraph.clear();
  };
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) {
      flush();
      continue;
    }
    paragraph += paragraph.empty() ? line : " " + line;
  }
  flush();
  return ids;
}

}  // namespace

void add_perplexity(CLI::App& app) {
  struct Args {
    std::string model, text, format = "raw";
    int64_t max_tokens = 0, window = 256, batch = 8;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("perplexity", "Perplexity of a model on a plain-text file");
  cmd->add_option("--model", a->model, "Hugging Face model directory")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--text", a->text, "plain-text file (decompress .gz files first)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--max-tokens", a->max_tokens, "use at most this many tokens of the stream (0 = all)");
  cmd->add_option("--window", a->window, "tokens per window")->check(CLI::Range(2, 1 << 20));
  cmd->add_option("--batch", a->batch, "windows per forward pass")->check(CLI::PositiveNumber);
  cmd->add_option("--format", a->format, "raw | paragraphs")->check(CLI::IsMember({"raw", "paragraphs"}));
  cmd->callback([a] {
    auto model = models::load_llama(a->model);
    auto tok = models::Tokenizer::from_model_dir(a->model);
    std::ifstream in(a->text, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    IAPT_CHECK(text.size() < 2 || !(static_cast<unsigned char>(text[0]) == 0x1f && static_cast<unsigned char>(text[1]) == 0x8b),
               "{}: this is a gzip file; decompress it first (gunzip -k)", a->text);
    std::vector<int64_t> ids = stream_tokens(*tok, text, a->format);
    if (a->max_tokens > 0 && static_cast<int64_t>(ids.size()) > a->max_tokens) ids.resize(a->max_tokens);
    // windows of `window` tokens; a shorter last window counts too when it predicts anything
    const int64_t w = a->window, n = static_cast<int64_t>(ids.size());
    IAPT_CHECK(n >= 2, "{}: {} tokens, too few to predict any", a->text, n);
    std::vector<std::pair<int64_t, int64_t>> windows;  // (start, length)
    for (int64_t s = 0; s + 1 < n; s += w) windows.emplace_back(s, std::min(w, n - s));
    double nll = 0;
    int64_t predicted = 0;
    NoGradGuard no_grad;
    for (size_t first = 0; first < windows.size();) {
      // a batch of windows of one length
      const int64_t len = windows[first].second;
      size_t last = first;
      while (last < windows.size() && windows[last].second == len && static_cast<int64_t>(last - first) < a->batch)
        ++last;
      const int64_t b = static_cast<int64_t>(last - first);
      std::vector<int64_t> x, targets(b * len, -100);
      for (size_t i = first; i < last; ++i)
        x.insert(x.end(), ids.begin() + windows[i].first, ids.begin() + windows[i].first + len);
      for (int64_t r = 0; r < b; ++r)
        for (int64_t i = 0; i + 1 < len; ++i) targets[r * len + i] = x[r * len + i + 1];
      Variable logits = model->forward(from_ints(x, {b, len}));
      Variable loss = cross_entropy(reshape(logits, {b * len, -1}), from_ints(targets, {b * len}));
      nll += loss.item() * static_cast<double>(b * (len - 1));
      predicted += b * (len - 1);
      first = last;
    }
    const double mean = nll / static_cast<double>(predicted);
    fmt::print("{} tokens in {} windows of up to {} ({} format); predicted {}; NLL/token {:.4f}; perplexity {:.2f}\n",
               n, windows.size(), w, a->format, predicted, mean, std::exp(mean));
  });
}

}  // namespace iapt::cli
