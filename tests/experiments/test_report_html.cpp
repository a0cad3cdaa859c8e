// report.html as a file: self-contained (every image a data: URL whose bytes are the plot's, no
// script or style from elsewhere), its table's rows, links that reach the run folders, each run's
// config with the values the runs do not share marked. (In a browser: tests/browser/.)
#include <catch2/catch.hpp>

#include "tests/experiments/report_sweep.h"

using namespace iapt::testing;

namespace {

// What follows each `start` in the text, up to the next `end`.
std::vector<std::string> all(const std::string& text, const std::string& start, const std::string& end = "\"") {
  std::vector<std::string> found;
  for (size_t at = text.find(start); at != std::string::npos; at = text.find(start, at + 1)) {
    const size_t from = at + start.size();
    found.push_back(text.substr(from, text.find(end, from) - from));
  }
  return found;
}

std::string unbase64(const std::string& text) {
  const std::string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    bits = (bits << 6) | static_cast<uint32_t>(digits.find(c));
    if ((count += 6) >= 8) out += static_cast<char>((bits >> (count -= 8)) & 0xFF);
  }
  return out;
}

}  // namespace

TEST_CASE("report --html: one self-contained page with the table, the plots inline, curves, links and configs",
          "[experiments][run]") {
  const fs::path ws = workspace("report_html");
  const fs::path dir = reported_sweep(ws);
  const std::string html = read_text(dir / "report.html");
  // the table: a row per rate, linked to its folder
  const auto row_links = all(html, "<tr><td><a href=\"");
  CHECK(row_links == std::vector<std::string>{"1e-9/", "3e-2/"});
  // every plot the report drew, inline, with the plot file's bytes
  const auto images = all(html, "src=\"data:image/png;base64,");
  const auto names = all(html, "<img class=\"plot\" alt=\"");
  size_t pngs = 0;
  for (const auto& e : fs::directory_iterator(dir / "plots")) pngs += e.path().extension() == ".png";
  REQUIRE(pngs >= 2);  // the learning curves and the bar chart at least
  REQUIRE(images.size() == pngs);
  REQUIRE(names.size() == pngs);
  for (size_t i = 0; i < images.size(); ++i) CHECK(unbase64(images[i]) == read_text(dir / "plots" / names[i]));
  // nothing is loaded from elsewhere: no src that is not data:, no stylesheet or script file
  for (const auto& src : all(html, "src=\"")) CHECK(src.rfind("data:image/png;base64,", 0) == 0);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  // two curves (loss, dev accuracy) per configuration, a polyline per seed
  CHECK(all(html, "<svg class=\"curve\"").size() == 4);
  CHECK(all(html, "<polyline").size() == 8);
  // each run's config, linked to its folder, with the rate and the seed marked as not shared
  const auto run_links = all(html, "<details class=\"run\"><summary><a href=\"");
  CHECK(run_links == std::vector<std::string>{"1e-9/seed-1/", "1e-9/seed-2/", "3e-2/seed-1/", "3e-2/seed-2/"});
  for (const auto& link : run_links) CHECK(fs::is_directory(dir / link));
  const auto marked = all(html, "<mark>", "</mark>");
  CHECK(std::count(marked.begin(), marked.end(), "training.lr: 0.03") == 2);
  CHECK(std::count(marked.begin(), marked.end(), "seed: 1") == 2);
  // a value every run shares is not marked
  CHECK(html.find("\ntraining.steps: 4\n") != std::string::npos);
  CHECK(std::count(marked.begin(), marked.end(), "training.steps: 4") == 0);
  fs::remove_all(ws);
}
