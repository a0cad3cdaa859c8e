#pragma once
// Whole-file text writes that never leave a half-written file: the text goes to PATH.tmp, which is
// renamed over PATH only once it is complete, so a crash keeps whatever PATH held before.
#include <string>

namespace iapt {

void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace iapt
