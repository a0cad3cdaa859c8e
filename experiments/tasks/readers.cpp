#include "experiments/tasks/readers.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace iapt::tasks {

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i)
    if (i == line.size() || line[i] == '\t') {
      out.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

std::ifstream open_or_throw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  IAPT_CHECK(in.good(), "{}: cannot open the data file (is the data directory right?)", path);
  return in;
}

void strip_line_end(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

// f(json, line_number) for every non-blank line of a JSON-lines file.
template <class F>
void for_each_json_line(const std::string& path, F&& f) {
  std::ifstream in = open_or_throw(path);
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    strip_line_end(line);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number past double
      throw Error(fmt::format("{}:{}: not valid JSON: {}", path, line_no, e.what()));
    }
    f(j, line_no);
  }
}

}  // namespace

std::vector<Example> read_tsv(const std::string& path, bool has_header, const std::vector<std::string>& columns) {
  std::ifstream in = open_or_throw(path);
  std::string line;
  int64_t line_no = 0;
  std::vector<int64_t> index;  // column position of each kept name
  size_t width = 0;
  if (has_header) {
    IAPT_CHECK(std::getline(in, line), "{}: empty file, expected a header row", path);
    ++line_no;
    strip_line_end(line);
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) line = line.substr(3);  // MRPC's byte-order mark
    std::vector<std::string> header = split_tabs(line);
    width = header.size();
    for (const auto& c : columns) {
      auto it = std::find(header.begin(), header.end(), c);
      IAPT_CHECK(it != header.end(), "{}:1: no column '{}' in the header ({})", path, c, fmt::join(header, ", "));
      index.push_back(it - header.begin());
    }
  } else {
    width = columns.size();
    for (size_t i = 0; i < columns.size(); ++i) index.push_back(static_cast<int64_t>(i));
  }
  std::vector<Example> out;
  while (std::getline(in, line)) {
    ++line_no;
    strip_line_end(line);
    if (line.empty()) continue;
    std::vector<std::string> cells = split_tabs(line);
    IAPT_CHECK(cells.size() == width, "{}:{}: expected {} tab-separated fields, got {}", path, line_no, width,
               cells.size());
    Example e;
    e.source = fmt::format("{}:{}", path, line_no);
    for (size_t i = 0; i < columns.size(); ++i)
      if (!columns[i].empty()) e.fields[columns[i]] = cells[index[i]];
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Example> read_jsonl(const std::string& path, const std::vector<std::string>& keys) {
  std::vector<Example> out;
  for_each_json_line(path, [&](const nlohmann::json& j, int64_t line_no) {
    IAPT_CHECK(j.is_object(), "{}:{}: expected a JSON object", path, line_no);
    Example e;
    e.source = fmt::format("{}:{}", path, line_no);
    for (const auto& k : keys) {
      const nlohmann::json* v = &j;
      size_t start = 0;
      while (true) {  // a dotted key walks nested objects
        const size_t dot = k.find('.', start);
        const std::string part = k.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        IAPT_CHECK(v->is_object() && v->contains(part), "{}:{}: missing key '{}'", path, line_no, k);
        v = &(*v)[part];
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      e.fields[k] = v->is_string() ? v->get<std::string>() : v->dump();
    }
    out.push_back(std::move(e));
  });
  return out;
}

std::vector<Example> read_multirc(const std::string& path) {
  std::vector<Example> out;
  for_each_json_line(path, [&](const nlohmann::json& j, int64_t line_no) {
    try {
      const auto& passage = j.at("passage");
      const std::string text = passage.at("text").get<std::string>();
      int64_t q = 0;
      for (const auto& question : passage.at("questions")) {
        for (const auto& answer : question.at("answers")) {
          Example e;
          e.source = fmt::format("{}:{}", path, line_no);
          e.fields = {{"passage", text},
                      {"question", question.at("question").get<std::string>()},
                      {"answer", answer.at("text").get<std::string>()},
                      {"label", answer.at("label").dump()},
                      {"group", fmt::format("{}/{}", line_no, q)}};
          out.push_back(std::move(e));
        }
        ++q;
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}:{}: not a MultiRC passage (passage.text, passage.questions[].answers[]): {}", path,
                              line_no, e.what()));
    }
  });
  return out;
}

std::vector<Example> read_record(const std::string& path) {
  std::vector<Example> out;
  for_each_json_line(path, [&](const nlohmann::json& j, int64_t line_no) {
    try {
      const auto& passage = j.at("passage");
      const std::string text = passage.at("text").get<std::string>();
      // entity spans are [start, end], both inclusive, in characters of the passage text
      auto span = [&](const nlohmann::json& s) {
        const int64_t start = s.at("start").get<int64_t>(), end = s.at("end").get<int64_t>();
        IAPT_CHECK(start >= 0 && end >= start && end < static_cast<int64_t>(text.size()),
                   "{}:{}: entity span [{}, {}] outside the passage's {} characters", path, line_no, start, end,
                   text.size());
        return text.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1));
      };
      std::vector<std::string> entities;
      for (const auto& s : passage.at("entities")) {
        std::string entity = span(s);
        if (std::find(entities.begin(), entities.end(), entity) == entities.end()) entities.push_back(entity);
      }
      std::string shown = text;  // "@highlight\nA summary line" -> "- A summary line"
      for (size_t at; (at = shown.find("@highlight\n")) != std::string::npos;) shown.replace(at, 11, "- ");
      int64_t q = 0;
      for (const auto& qa : j.at("qas")) {
        Example e;
        e.source = fmt::format("{}:{}", path, line_no);
        e.candidates = entities;
        if (qa.contains("answers"))
          for (const auto& a : qa.at("answers")) {
            std::string answer = a.at("text").get<std::string>();
            if (std::find(e.answers.begin(), e.answers.end(), answer) == e.answers.end()) e.answers.push_back(answer);
          }
        e.fields = {{"passage", shown},
                    {"query", qa.at("query").get<std::string>()},
                    {"label", e.answers.empty() ? "" : e.answers.front()},
                    {"passage_id", std::to_string(line_no)},
                    {"group", fmt::format("{}/{}", line_no, q++)}};
        out.push_back(std::move(e));
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(fmt::format("{}:{}: not a ReCoRD passage (passage.text, passage.entities[], qas[].query): {}", path,
                              line_no, e.what()));
    }
  });
  return out;
}

}  // namespace iapt::tasks
