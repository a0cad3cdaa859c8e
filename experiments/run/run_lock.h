#pragma once
// One process per run folder. Two `iapt run` on the same folder would both write its checkpoints
// and logs; the second is refused while the first lives. The lock is the kernel's (flock on
// DIR/run.lock), so it goes with the process that held it, however that process ended: a lock
// file left by a killed run is taken over without asking.
#include <string>

namespace iapt::run {

class RunFolderLock {
 public:
  // Takes the folder or throws, naming it and the process that holds it.
  explicit RunFolderLock(const std::string& dir);
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace iapt::run
