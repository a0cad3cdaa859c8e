#include "core/atomic_file.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace iapt {

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    IAPT_CHECK(out.is_open(), "{}: cannot open for writing", tmp);
    write(out);
    out.flush();
    IAPT_CHECK(out.good(), "{}: write failed", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  IAPT_CHECK(!ec, "{}: cannot rename the temporary file into place: {}", path, ec.message());
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

}  // namespace iapt
