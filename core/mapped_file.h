#pragma once
// A file mapped into memory copy-on-write: reads come from the page cache on demand, and writes
// (an optimizer updating a weight in place) go to private pages, never to the file.
#include <cstddef>
#include <memory>
#include <string>

namespace iapt {

class MappedFile {
 public:
  // Throws naming the path when the file cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile(char* data, size_t size) : data_(data), size_(size) {}
  char* data_;
  size_t size_;
};

}  // namespace iapt
