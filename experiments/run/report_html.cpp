#include "experiments/run/report_html.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "experiments/config/yaml_reader.h"
#include "experiments/run/json_file.h"
#include "experiments/version.h"

namespace iapt::run {

namespace fs = std::filesystem;

namespace {

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// RFC 4648 base64, for the plots' data: URLs (written here: no Debian library the project uses has it).
std::string base64(const std::string& bytes) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? digits[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A path from the report's folder to `target`, as an href (folders end with '/').
std::string href(const fs::path& dir, const fs::path& target, bool folder) {
  std::string rel = fs::relative(target, dir).generic_string();
  if (folder) rel += "/";
  std::string out;
  for (char c : rel) out += c == ' ' ? std::string("%20") : c == '#' ? std::string("%23") : std::string(1, c);
  return escape(out);
}

// A config as "dotted.key: value" lines, in the file's order; a list in flow style on one line.
void flatten(const YAML::Node& node, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out) {
  if (node.IsMap() && node.size() > 0) {
    for (const auto& kv : node) flatten(kv.second, prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar(), out);
    return;
  }
  if (node.IsScalar()) {
    out.emplace_back(prefix, display_scalar(node.Scalar()));
    return;
  }
  YAML::Emitter e;
  e << YAML::Flow << node;
  out.emplace_back(prefix, e.c_str());
}

std::vector<std::pair<std::string, std::string>> run_config(const fs::path& run) {
  const fs::path file = fs::exists(run / "resolved.yaml") ? run / "resolved.yaml" : run / "config.yaml";
  std::vector<std::pair<std::string, std::string>> lines;
  if (fs::exists(file)) flatten(config::load_yaml_file(file.string()), "", lines);
  return lines;
}

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (step, value)
};

// A line chart as inline SVG: one polyline per series, the axes' ranges written at their ends.
std::string svg_chart(const std::string& title, const std::vector<Series>& series) {
  static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  if (x0 > x1) return "";
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) {  // a flat line, in the middle of a narrow band around its value
    const double pad = std::max(std::abs(y0) * 0.01, 1e-6);
    y0 -= pad, y1 += pad;
  }
  const double w = 440, h = 220, left = 56, right = 12, top = 22, bottom = 30;
  const auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (w - left - right); };
  const auto py = [&](double y) { return top + (y1 - y) / (y1 - y0) * (h - top - bottom); };
  std::string svg = fmt::format(
      "<svg class=\"curve\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "role=\"img\" aria-label=\"{2}\"><text x=\"{3}\" y=\"14\" class=\"title\">{2}</text>"
      "<rect x=\"{3}\" y=\"{4}\" width=\"{5}\" height=\"{6}\" class=\"frame\"/>",
      w, h, escape(title), left, top, w - left - right, h - top - bottom);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{:.4g}</text>", left - 4, top + 8, y1);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{:.4g}</text>", left - 4, h - bottom, y0);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\">{:g}</text>", left, h - bottom + 14, x0);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">step {:g}</text>", w - right, h - bottom + 14, x1);
  for (size_t i = 0; i < series.size(); ++i) {
    std::string points;
    for (const auto& [x, y] : series[i].points) points += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"><title>{}</title></polyline>",
                       colours[i % 8], points, escape(series[i].name));
    svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"legend\" fill=\"{}\">{}</text>", w - right - 4,
                       top + 12 + 12 * static_cast<double>(i), colours[i % 8], escape(series[i].name));
  }
  return svg + "</svg>";
}

// Each run's training loss and dev metric over the steps, from its metrics.jsonl.
std::string curves_of(const ReportRow& r) {
  std::vector<Series> loss, dev;
  for (const fs::path run : r.run_dirs) {
    Series l{run.filename().string(), {}}, d{run.filename().string(), {}};
    std::ifstream in(run / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("step")) continue;
      const double step = j["step"].get<double>();
      if (j.contains("loss") && j["loss"].is_number()) l.points.emplace_back(step, j["loss"].get<double>());
      if (j.contains("dev") && j["dev"].contains(r.metric)) d.points.emplace_back(step, j["dev"][r.metric].get<double>());
    }
    if (!l.points.empty()) loss.push_back(std::move(l));
    if (!d.points.empty()) dev.push_back(std::move(d));
  }
  return svg_chart(r.label + ": training loss", loss) + svg_chart(r.label + ": dev " + r.metric, dev);
}

constexpr const char* kStyle = R"(
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ccc; padding: 4px 8px; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 8px; vertical-align: top; } figcaption { font-size: 12px; color: #555; }
img.plot { max-width: 100%; border: 1px solid #ddd; }
svg.curve { margin: 4px; background: #fff; } svg .frame { fill: none; stroke: #999; }
svg .title { font-size: 12px; } svg .tick { font-size: 10px; fill: #555; } svg .legend { font-size: 10px; text-anchor: end; }
pre.config { background: #fafafa; border: 1px solid #eee; padding: 8px; font-size: 12px; overflow-x: auto; }
mark { background: #ffe58a; } .meta { color: #555; } details { margin: 4px 0; }
)";

// The results table, as table.md gives it, each configuration linked to its folder.
std::string results_section(const fs::path& dir, const std::vector<ReportRow>& rows) {
  std::string html;
  html += "<h2 id=\"results-section\">Results</h2>\n<table id=\"results\"><thead><tr><th>configuration</th><th>method</th>";
  if (!rows.empty()) {
    for (const auto& [key, value] : rows[0].columns) html += "<th>" + escape(key) + "</th>";
    html += fmt::format("<th>tunable parameters</th><th>seeds</th><th>dev {0} (median)</th><th>dev {0} (mean ± std)</th>"
                        "<th>test {0} (median)</th><th>test {0} (mean ± std)</th><th>wall time per run (s)</th>",
                        escape(rows[0].metric));
  }
  html += "</tr></thead><tbody>\n";
  for (const auto& r : rows) {
    const fs::path folder = fs::path(r.run_dirs.front()).parent_path();
    html += fmt::format("<tr><td><a href=\"{}\">{}</a></td><td>{}</td>", href(dir, folder, true), escape(r.label), escape(r.method));
    for (const auto& [key, value] : r.columns) html += "<td>" + escape(value) + "</td>";
    html += fmt::format("<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.4f}</td><td class=\"num\">{:.4f} ± {:.4f}</td>"
                        "<td class=\"num\">{:.4f}</td><td class=\"num\">{:.4f} ± {:.4f}</td><td class=\"num\">{:.1f}</td></tr>\n",
                        r.tunable, r.seeds, r.dev_median, r.dev_mean, r.dev_std, r.test_median, r.test_mean, r.test_std, r.wall_mean);
  }
  html += "</tbody></table>\n";
  if (!rows.empty() && (rows[0].majority_dev || rows[0].majority_test))
    html += fmt::format("<p>Majority class (the training split's most frequent response for every example): dev {} {}, test {} {}.</p>\n",
                        escape(rows[0].metric), rows[0].majority_dev ? fmt::format("{:.4f}", *rows[0].majority_dev) : "-",
                        escape(rows[0].metric), rows[0].majority_test ? fmt::format("{:.4f}", *rows[0].majority_test) : "-");

  return html;
}

// The selection stage's candidates and choices (none without selection.json).
std::string selection_section(const fs::path& dir) {
  std::string html;
  if (fs::exists(dir / "selection.json")) {
    html += "<h2 id=\"selection-section\">Selection on dev</h2>\n<table id=\"selection\"><thead><tr><th>configuration</th><th>candidate</th>"
            "<th>selection runs</th><th>dev (mean)</th><th>selected</th></tr></thead><tbody>\n";
    const nlohmann::json selection = read_json_file(dir / "selection.json");
    for (const auto& [label, entry] : selection.items()) {
      if (entry.contains("from") && entry["candidates"].empty())  // selected in another sweep
        html += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"num\">-</td><td class=\"num\">-</td><td>yes, in {}</td></tr>\n",
                            escape(label), escape(entry["selected"].get<std::string>()),
                            escape(entry["from"].get<std::string>()));
      for (const auto& [candidate, c] : entry["candidates"].items())
        html += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.4f}</td><td>{}</td></tr>\n",
                            escape(label), escape(candidate), c["runs"].get<int>(), c["dev_mean"].get<double>(),
                            entry["selected"] == candidate ? "yes" : "");
    }
    html += "</tbody></table>\n";
  }

  return html;
}

// Every plot the report drew, inline.
std::string plots_section(const fs::path& dir) {
  std::string html;
  std::vector<fs::path> plots;
  if (fs::is_directory(dir / "plots"))
    for (const auto& e : fs::directory_iterator(dir / "plots"))
      if (e.path().extension() == ".png") plots.push_back(e.path());
  std::sort(plots.begin(), plots.end());
  if (!plots.empty()) {
    html += "<h2 id=\"plots\">Plots</h2>\n";
    for (const auto& p : plots)
      html += fmt::format("<figure><img class=\"plot\" alt=\"{0}\" src=\"data:image/png;base64,{1}\"><figcaption>plots/{0}</figcaption></figure>\n",
                          escape(p.filename().string()), base64(read_bytes(p)));
  }

  return html;
}

// Each configuration's curves.
std::string curves_section(const std::vector<ReportRow>& rows) {
  std::string html;
  html += "<h2 id=\"curves\">Curves</h2>\n<p>Each configuration's runs: the training loss as logged, and the dev metric at each evaluation.</p>\n";
  for (const auto& r : rows) html += "<div class=\"curves\">" + curves_of(r) + "</div>\n";

  return html;
}

// Each run's config; a value not the same in every run is highlighted.
std::string runs_section(const fs::path& dir, const std::vector<ReportRow>& rows) {
  std::string html;
  std::vector<std::vector<std::pair<std::string, std::string>>> configs;
  std::map<std::string, std::set<std::string>> values;
  size_t runs = 0;
  for (const auto& r : rows)
    for (const fs::path run : r.run_dirs) {
      configs.push_back(run_config(run));
      for (const auto& [key, value] : configs.back()) values[key].insert(value);
      ++runs;
    }
  std::set<std::string> differing;
  for (const auto& entry : values) {  // not a structured binding: clang 14 cannot capture one in a lambda
    const std::string& key = entry.first;
    size_t holding = 0;
    for (const auto& c : configs) holding += std::any_of(c.begin(), c.end(), [&](const auto& kv) { return kv.first == key; });
    if (entry.second.size() > 1 || holding < runs) differing.insert(key);
  }
  html += "<h2 id=\"runs\">Runs</h2>\n<p>Each run's resolved config; <mark>highlighted</mark>: the values that are not the same in every run "
          "of this report (the sweep's base is what they share).</p>\n";
  size_t k = 0;
  for (const auto& r : rows) {
    html += fmt::format("<h3>{}</h3>\n", escape(r.label));
    for (const fs::path run : r.run_dirs) {
      std::string scores;
      if (fs::exists(run / "summary.json")) {
        const nlohmann::json s = read_json_file(run / "summary.json");
        if (s.contains("dev") && s["dev"].contains(r.metric)) scores += fmt::format(" dev {:.4f}", s["dev"][r.metric].get<double>());
        if (s.contains("test") && s["test"].contains(r.metric)) scores += fmt::format(", test {:.4f}", s["test"][r.metric].get<double>());
      }
      // the summary line names the values this run does not share (the seed and names aside)
      std::string own;
      int shown = 0;
      for (const auto& [key, value] : configs[k]) {
        if (!differing.count(key) || key == "seed" || key == "name" || key == "output_dir") continue;
        if (++shown <= 4) {
          own += ' ';
          own += escape(key + "=" + value);
        } else if (shown == 5) {
          own += " …";
        }
      }
      html += fmt::format("<details class=\"run\"><summary><a href=\"{}\">{}</a>{} <span class=\"meta\">{}</span></summary>"
                          "<pre class=\"config\">",
                          href(dir, run, true), escape(run.filename().string()), scores, own);
      for (const auto& [key, value] : configs[k]) {
        const std::string line = escape(key + ": " + value);
        html += differing.count(key) ? "<mark>" + line + "</mark>\n" : line + "\n";
      }
      html += "</pre></details>\n";
      ++k;
    }
  }
  return html;
}

}  // namespace

void write_html_report(const std::string& dir_str, const std::vector<ReportRow>& rows, const SweepProgress& progress) {
  const fs::path dir(dir_str);
  const std::string name = fs::absolute(dir).lexically_normal().filename().string();
  std::string html = fmt::format("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}: iapt report</title>"
                                 "<style>{1}</style></head><body>\n<h1>{0}</h1>\n<p class=\"meta\">",
                                 escape(name), kStyle);
  if (progress.planned > 0) html += fmt::format("{} of {} runs finished. ", progress.finished, progress.planned);
  html += fmt::format("Written by {}. The tables as files: <a href=\"table.md\">table.md</a>, <a href=\"table.csv\">table.csv</a>.</p>\n",
                      escape(version_string()));

  html += results_section(dir, rows) + selection_section(dir) + plots_section(dir) + curves_section(rows) +
          runs_section(dir, rows);
  html += "</body></html>\n";
  write_text_atomically(dir / "report.html", html);
}

}  // namespace iapt::run
