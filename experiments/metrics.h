#pragma once
// Evaluation metrics of GLUE and SuperGLUE.
#include <string>
#include <vector>

namespace iapt::metrics {

double accuracy(const std::vector<std::string>& predicted, const std::vector<std::string>& gold);
// F1 of the `positive` class.
double f1(const std::vector<std::string>& predicted, const std::vector<std::string>& gold, const std::string& positive);
// Matthews correlation of a binary labelling (`positive` against everything else).
double matthews(const std::vector<std::string>& predicted, const std::vector<std::string>& gold,
                const std::string& positive);
double pearson(const std::vector<double>& x, const std::vector<double>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);  // ties take their mean rank
// SQuAD-style answer matching: lower case, punctuation and articles (a, an, the) removed, spaces collapsed.
std::string normalize_answer(const std::string& s);
double exact_match(const std::vector<std::string>& predicted, const std::vector<std::string>& gold);
// The share of groups (equal values in `groups`) whose every prediction is right: MultiRC's
// exact match, a question counting only when all of its answers are judged correctly.
double group_exact_match(const std::vector<std::string>& predicted, const std::vector<std::string>& gold,
                         const std::vector<std::string>& groups);
double token_f1(const std::vector<std::string>& predicted, const std::vector<std::string>& gold);  // mean over pairs
// The same with several accepted answers per prediction: each prediction scores its best match.
double best_exact_match(const std::vector<std::string>& predicted, const std::vector<std::vector<std::string>>& answers);
double best_token_f1(const std::vector<std::string>& predicted, const std::vector<std::vector<std::string>>& answers);

}  // namespace iapt::metrics
