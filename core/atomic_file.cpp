#include "core/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "core/error.h"

namespace iapt {

namespace {

// The reason a stream failed, where the C library left one (ENOSPC, EACCES, EROFS...).
std::string reason(int err) { return err ? std::strerror(err) : "unknown reason"; }

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp";
  try {
    {
      errno = 0;
      std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
      IAPT_CHECK(out.is_open(), "{}: cannot open for writing: {}", tmp, reason(errno));
      errno = 0;
      write(out);
      out.flush();
      IAPT_CHECK(out.good(), "{}: write failed: {}", tmp, reason(errno));
      out.close();  // the last buffer reaches the disk here, and may not fit
      IAPT_CHECK(!out.fail(), "{}: write failed: {}", tmp, reason(errno));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    IAPT_CHECK(!ec, "{}: cannot rename the temporary file into place: {}", path, ec.message());
  } catch (...) {
    std::error_code ignored;  // what PATH held before stays; the half-written copy goes
    std::filesystem::remove(tmp, ignored);
    throw;
  }
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

}  // namespace iapt
