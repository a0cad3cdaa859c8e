#pragma once
// Whole-file writes that never leave a half-written file: the content goes to PATH.tmp, which is
// renamed over PATH only once it is complete, so a crash keeps whatever PATH held before.
#include <functional>
#include <ostream>
#include <string>

namespace iapt {

// `write` fills the (binary) stream; a stream left in a failed state is an error naming the file and
// the reason (errno), and a failure of any kind removes PATH.tmp.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);
void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace iapt
