#include "core/text_file.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace iapt {

void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    IAPT_CHECK(out.is_open(), "{}: cannot open for writing", tmp);
    out << text;
    out.flush();
    IAPT_CHECK(out.good(), "{}: write failed", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  IAPT_CHECK(!ec, "{}: cannot rename the temporary file into place: {}", path, ec.message());
}

}  // namespace iapt
