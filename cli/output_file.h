// A file bld writes as a whole (an archive of `bld save`, an export of `bld
// build -o`): written under a temporary name beside its final one and renamed
// into place only when complete, so a killed command never leaves a
// truncated file under the name asked for.
//
// Thread-safety: an OutputFile belongs to one thread.
#pragma once

#include <cstddef>
#include <string>

namespace bld::cli {

class OutputFile {
 public:
  // Creates the temporary file beside `path`, with the mode any new file
  // would get (0666 less the umask), as `docker save -o` gives it.
  explicit OutputFile(const std::string& path);
  // Removes the temporary file unless Commit renamed it.
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void Write(const void* data, size_t size);
  // Flushes the file to disk and renames it to its final name.
  void Commit();

 private:
  std::string path_;
  std::string temp_;
  int fd_ = -1;
};

}  // namespace bld::cli
