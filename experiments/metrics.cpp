#include "experiments/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>

#include "core/error.h"

namespace iapt::metrics {

namespace {
void same_size(size_t a, size_t b, const char* metric) {
  IAPT_CHECK(a == b && a > 0, "{}: {} predictions for {} references", metric, a, b);
}
}  // namespace

double accuracy(const std::vector<std::string>& p, const std::vector<std::string>& g) {
  same_size(p.size(), g.size(), "accuracy");
  size_t right = 0;
  for (size_t i = 0; i < p.size(); ++i) right += p[i] == g[i];
  return static_cast<double>(right) / static_cast<double>(p.size());
}

double f1(const std::vector<std::string>& p, const std::vector<std::string>& g, const std::string& positive) {
  same_size(p.size(), g.size(), "f1");
  double tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const bool pp = p[i] == positive, gp = g[i] == positive;
    tp += pp && gp, fp += pp && !gp, fn += !pp && gp;
  }
  return tp == 0 ? 0.0 : 2 * tp / (2 * tp + fp + fn);
}

double matthews(const std::vector<std::string>& p, const std::vector<std::string>& g, const std::string& positive) {
  same_size(p.size(), g.size(), "matthews");
  double tp = 0, tn = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const bool pp = p[i] == positive, gp = g[i] == positive;
    tp += pp && gp, tn += !pp && !gp, fp += pp && !gp, fn += !pp && gp;
  }
  const double denom = std::sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
  return denom == 0 ? 0.0 : (tp * tn - fp * fn) / denom;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  same_size(x.size(), y.size(), "pearson");
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx == 0 || syy == 0 ? 0.0 : sxy / std::sqrt(sxx * syy);
}

static std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) r[order[k]] = mean_rank;
    i = j + 1;
  }
  return r;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  same_size(x.size(), y.size(), "spearman");
  return pearson(ranks(x), ranks(y));
}

std::string normalize_answer(const std::string& s) {
  std::string lower;
  for (unsigned char c : s)
    if (!std::ispunct(c)) lower += static_cast<char>(std::tolower(c));
  std::istringstream in(lower);
  std::string word, out;
  while (in >> word) {
    if (word == "a" || word == "an" || word == "the") continue;
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

namespace {

double pair_exact_match(const std::string& p, const std::string& g) {
  return normalize_answer(p) == normalize_answer(g) ? 1.0 : 0.0;
}

// SQuAD's token F1 of one prediction against one answer, after normalisation.
double pair_token_f1(const std::string& p, const std::string& g) {
  std::map<std::string, int> counts;
  std::istringstream pin(normalize_answer(p)), gin(normalize_answer(g));
  std::string w;
  int np = 0, ng = 0, common = 0;
  while (pin >> w) ++counts[w], ++np;
  while (gin >> w) {
    ++ng;
    if (counts[w] > 0) --counts[w], ++common;
  }
  if (np == 0 || ng == 0) return np == ng ? 1.0 : 0.0;
  if (common == 0) return 0.0;
  const double precision = static_cast<double>(common) / np, recall = static_cast<double>(common) / ng;
  return 2 * precision * recall / (precision + recall);
}

// The mean over predictions of each one's best score against its answers.
template <class PairScore>
double best_over_answers(const std::vector<std::string>& p, const std::vector<std::vector<std::string>>& answers,
                         const char* metric, PairScore score) {
  same_size(p.size(), answers.size(), metric);
  double total = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    IAPT_CHECK(!answers[i].empty(), "{}: prediction {} has no accepted answer", metric, i);
    double best = 0;
    for (const auto& a : answers[i]) best = std::max(best, score(p[i], a));
    total += best;
  }
  return total / static_cast<double>(p.size());
}

std::vector<std::vector<std::string>> one_answer_each(const std::vector<std::string>& g) {
  std::vector<std::vector<std::string>> out;
  for (const auto& a : g) out.push_back({a});
  return out;
}

}  // namespace

double exact_match(const std::vector<std::string>& p, const std::vector<std::string>& g) {
  return best_exact_match(p, one_answer_each(g));
}

double token_f1(const std::vector<std::string>& p, const std::vector<std::string>& g) {
  return best_token_f1(p, one_answer_each(g));
}

double best_exact_match(const std::vector<std::string>& p, const std::vector<std::vector<std::string>>& answers) {
  return best_over_answers(p, answers, "exact_match", pair_exact_match);
}

double best_token_f1(const std::vector<std::string>& p, const std::vector<std::vector<std::string>>& answers) {
  return best_over_answers(p, answers, "token_f1", pair_token_f1);
}

double group_exact_match(const std::vector<std::string>& p, const std::vector<std::string>& g,
                         const std::vector<std::string>& groups) {
  same_size(p.size(), g.size(), "group_exact_match");
  IAPT_CHECK(groups.size() == p.size(), "group_exact_match: {} groups for {} predictions", groups.size(), p.size());
  std::map<std::string, bool> all_right;
  for (size_t i = 0; i < p.size(); ++i) {
    auto [it, fresh] = all_right.emplace(groups[i], true);
    it->second = it->second && p[i] == g[i];
  }
  double right = 0;
  for (auto& [group, ok] : all_right) right += ok;
  return right / static_cast<double>(all_right.size());
}

}  // namespace iapt::metrics
