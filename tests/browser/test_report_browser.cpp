// report.html in a real browser: Debian's chromium, headless, loads the page of a finished sweep
// from disk; a page beside it reads the DOM chromium rendered (through an iframe: file pages may read
// each other with --allow-file-access-from-files) and writes what it found, which --dump-dom prints:
// the table's rows, every image decoded, the curves and the runs' configs. Then a screenshot of the
// page (scripts/report-screenshot.sh). Skipped (exit 77) where chromium is not installed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdlib>

#include "tests/experiments/report_sweep.h"

using namespace iapt::testing;

namespace {

constexpr const char* kProbe = R"(<!doctype html><html><body><pre id="result">pending</pre>
<iframe id="report" src="report.html" width="1280" height="900"></iframe>
<script>
// the frame's load event comes after every image of it has loaded, or failed to
document.getElementById('report').addEventListener('load', () => {
  const d = document.getElementById('report').contentDocument;
  const images = [...d.querySelectorAll('img')];
  document.getElementById('result').textContent = JSON.stringify({
    title: d.title,
    rows: [...d.querySelectorAll('#results tbody tr td:first-child')].map(td => td.textContent),
    images: images.length,
    decoded: images.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0).length,
    curves: d.querySelectorAll('svg.curve').length,
    lines: d.querySelectorAll('svg.curve polyline').length,
    runs: [...d.querySelectorAll('details.run summary a')].map(a => a.getAttribute('href')),
    marked: d.querySelectorAll('details.run mark').length,
  });
});
</script></body></html>
)";

}  // namespace

TEST_CASE("report --html in headless chromium: the table's rows, every image decoded, curves, configs, a screenshot") {
  const fs::path ws = workspace("report_browser");
  const fs::path dir = reported_sweep(ws);
  std::ofstream(dir / "probe.html") << kProbe;
  const Result chromium =
      run_shell("(timeout 120 chromium --headless --no-sandbox --disable-gpu --allow-file-access-from-files "
                "--virtual-time-budget=10000 --dump-dom 'file://" + (dir / "probe.html").string() + "' 2>/dev/null)");
  REQUIRE(chromium.exit_code == 0);
  const std::string& dom = chromium.output;
  const size_t start = dom.find("<pre id=\"result\">"), end = dom.find("</pre>");
  REQUIRE(start != std::string::npos);
  REQUIRE(end != std::string::npos);
  const std::string found = dom.substr(start + 17, end - start - 17);
  INFO(found);
  const auto r = nlohmann::json::parse(found);
  CHECK(r["title"] == "rates: iapt report");
  CHECK(r["rows"] == nlohmann::json({"1e-9", "3e-2"}));
  size_t pngs = 0;
  for (const auto& e : fs::directory_iterator(dir / "plots")) pngs += e.path().extension() == ".png";
  CHECK(pngs >= 2);
  CHECK(r["images"] == pngs);
  CHECK(r["decoded"] == pngs);
  CHECK(r["curves"] == 4);
  CHECK(r["lines"] == 8);
  CHECK(r["runs"] == nlohmann::json({"1e-9/seed-1/", "1e-9/seed-2/", "3e-2/seed-1/", "3e-2/seed-2/"}));
  CHECK(r["marked"].get<int>() >= 4 * 3);  // each run's name, seed and rate at least

  const fs::path shot = IAPT_SCREENSHOT;
  fs::remove(shot);
  const Result screenshot = run_shell("bash " IAPT_SOURCE_DIR "/scripts/report-screenshot.sh '" +
                                      (dir / "report.html").string() + "' '" + shot.string() + "' 1280 1600");
  INFO(screenshot.output);
  CHECK(screenshot.exit_code == 0);
  std::ifstream png(shot, std::ios::binary);
  std::string head(24, '\0');
  png.read(head.data(), 24);
  CHECK(head.substr(0, 8) == "\x89PNG\r\n\x1a\n");
  const auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(head[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>(head[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(head[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>(head[at + 3]));
  };
  CHECK(be32(16) == 1280);  // IHDR: width, height
  CHECK(be32(20) == 1600);
  CHECK(fs::file_size(shot) > 20000);  // a page drawn, not a blank one
  std::printf("screenshot: %s\n", shot.c_str());
  fs::remove_all(ws);
}

int main(int argc, char** argv) {
  if (std::system("command -v chromium > /dev/null 2>&1") != 0) {
    std::printf("SKIPPED: chromium not found (Debian: apt-get install chromium); report.html not tried in a browser\n");
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
