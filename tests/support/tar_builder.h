// Tars built entry by entry in memory, hostile ones included (names that
// climb, links out, entries through symlinks), for tests that hand crafted
// layers and archives to bld.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <functional>
#include <string>

namespace bld::testing {

class TarBuilder {
 public:
  TarBuilder();
  ~TarBuilder();
  TarBuilder(const TarBuilder&) = delete;
  TarBuilder& operator=(const TarBuilder&) = delete;

  TarBuilder& File(const std::string& name, const std::string& content);
  TarBuilder& Dir(const std::string& name);
  TarBuilder& Symlink(const std::string& name, const std::string& target);
  TarBuilder& Hardlink(const std::string& name, const std::string& target);
  TarBuilder& Fifo(const std::string& name);

  // The tar's bytes; call once, after the last entry.
  std::string Finish();

 private:
  static la_ssize_t Write(archive*, void* self, const void* data, size_t size);
  TarBuilder& Add(const std::string& name, unsigned mode, const std::string& content,
                  const std::function<void(archive_entry*)>& extra);

  archive* a_;
  std::string out_;
};

}  // namespace bld::testing
