#include "experiments/run/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"

namespace iapt::run {

RunFolderLock::RunFolderLock(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "run.lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  IAPT_CHECK(fd_ >= 0, "{}: cannot open the run folder's lock file: {}", path, std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd_, pid, sizeof(pid) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    IAPT_CHECK(err != EWOULDBLOCK, "{}: another process (pid {}) is running this run; wait for it to end or stop it",
               dir, n > 0 ? std::string(pid, static_cast<size_t>(n)) : std::string("unknown"));
    IAPT_CHECK(false, "{}: cannot lock the run folder: {}", path, std::strerror(err));
  }
  // the holder's pid, for the message a second process gets
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // the lock holds without the pid; only the message would be poorer
  }
}

RunFolderLock::~RunFolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays, an unlink would race a waiting process
}

}  // namespace iapt::run
