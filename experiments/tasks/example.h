#pragma once
// One example of a task: its raw fields as read from the official file, the instruction and
// response the template makes of them, and where it came from (for error messages).
#include <map>
#include <string>
#include <vector>

namespace iapt::tasks {

struct Example {
  std::map<std::string, std::string> fields;  // column or key -> text
  std::string instruction;                    // the template filled with the fields
  std::string response;                       // the label word (or the formatted score)
  std::string label;                          // the raw label as in the file ("0", "entailment", "true", ...)
  std::string source;                         // "file:line"
  std::vector<std::string> candidates;        // this example's own responses to rank (ReCoRD's entities);
                                              // empty: the task's label words
  std::vector<std::string> answers;           // every accepted response (ReCoRD); empty: the response alone
};

struct Splits {
  std::vector<Example> train, dev, test;
  std::string protocol;  // what was done to make them, recorded in the run
};

}  // namespace iapt::tasks
