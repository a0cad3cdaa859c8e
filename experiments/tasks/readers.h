#pragma once
// Readers for the official formats: GLUE's TSV files (with or without a header row; MRPC's UTF-8
// byte-order mark is skipped) and SuperGLUE's JSON lines. A malformed row is an error naming the
// file and line and what was expected.
#include <string>
#include <vector>

#include "experiments/tasks/example.h"

namespace iapt::tasks {

// columns: the header names to keep (or, with has_header = false, names given to the columns by
// position: "" skips one). Quote characters are data: GLUE's TSVs are not CSV-quoted.
std::vector<Example> read_tsv(const std::string& path, bool has_header, const std::vector<std::string>& columns);

// keys: the JSON keys to keep ("target.span1_text" reaches into nested objects); numbers and
// booleans are kept as their JSON text (0, true).
std::vector<Example> read_jsonl(const std::string& path, const std::vector<std::string>& keys);

// MultiRC's nesting (passage -> questions -> answers) flattened to one example per answer, with
// the fields passage, question, answer, label, and group ("line/question", for per-question metrics).
std::vector<Example> read_multirc(const std::string& path);

// ReCoRD's passages (text with "@highlight" lines, entity spans) and cloze queries flattened to one
// example per query: fields passage (highlights as "- " lines), query (with @placeholder), label
// (the first answer), passage_id and group; candidates are the passage's distinct entities, answers
// every accepted one (none in the unlabelled test file).
std::vector<Example> read_record(const std::string& path);

}  // namespace iapt::tasks
