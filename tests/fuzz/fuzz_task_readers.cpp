// The task readers on arbitrary files: GLUE's TSV (with and without a header row), SuperGLUE's
// JSON lines, MultiRC's and ReCoRD's nested JSON; the first byte picks the reader. What a reader
// accepts is then filled into an instruction template, as a run does.
#include "experiments/tasks/readers.h"
#include "experiments/tasks/task.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t reader = data[0] % 5;
  const std::string path = iapt::fuzz::write_input(data + 1, size - 1, reader < 2 ? ".tsv" : ".jsonl");
  iapt::fuzz::expect_parsed_or_error([&] {
    std::vector<iapt::tasks::Example> examples;
    switch (reader) {
      case 0: examples = iapt::tasks::read_tsv(path, true, {"sentence", "label"}); break;
      case 1: examples = iapt::tasks::read_tsv(path, false, {"", "label", "", "sentence"}); break;
      case 2: examples = iapt::tasks::read_jsonl(path, {"premise", "label", "target.span1_text"}); break;
      case 3: examples = iapt::tasks::read_multirc(path); break;
      default: examples = iapt::tasks::read_record(path); break;
    }
    for (const auto& e : examples) {
      std::string tmpl = "{";  // every field the reader gave, and a lone brace
      for (const auto& [field, text] : e.fields) tmpl += "{" + field + "} ";
      (void)iapt::tasks::fill_template(tmpl.substr(1), e, "fuzz");
      iapt::fuzz::expect_parsed_or_error([&] { (void)iapt::tasks::fill_template(tmpl, e, "fuzz"); });
    }
  });
  return 0;
}
