#include "support/tar_builder.h"

namespace bld::testing {

TarBuilder::TarBuilder() : a_(archive_write_new()) {
  archive_write_set_format_pax_restricted(a_);
  archive_write_open(a_, this, nullptr, &TarBuilder::Write, nullptr);
}

TarBuilder::~TarBuilder() { archive_write_free(a_); }

TarBuilder& TarBuilder::File(const std::string& name, const std::string& content) {
  return Add(name, AE_IFREG | 0644, content, nullptr);
}

TarBuilder& TarBuilder::Dir(const std::string& name) { return Add(name, AE_IFDIR | 0755, "", nullptr); }

TarBuilder& TarBuilder::Symlink(const std::string& name, const std::string& target) {
  return Add(name, AE_IFLNK | 0777, "", [&](archive_entry* e) { archive_entry_copy_symlink(e, target.c_str()); });
}

TarBuilder& TarBuilder::Hardlink(const std::string& name, const std::string& target) {
  return Add(name, AE_IFREG | 0644, "", [&](archive_entry* e) { archive_entry_copy_hardlink(e, target.c_str()); });
}

TarBuilder& TarBuilder::Fifo(const std::string& name) { return Add(name, AE_IFIFO | 0644, "", nullptr); }

std::string TarBuilder::Finish() {
  archive_write_close(a_);
  return out_;
}

la_ssize_t TarBuilder::Write(archive*, void* self, const void* data, size_t size) {
  static_cast<TarBuilder*>(self)->out_.append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

TarBuilder& TarBuilder::Add(const std::string& name, unsigned mode, const std::string& content,
                            const std::function<void(archive_entry*)>& extra) {
  archive_entry* e = archive_entry_new();
  archive_entry_copy_pathname(e, name.c_str());
  archive_entry_set_mode(e, mode);
  archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
  if (extra) extra(e);
  archive_write_header(a_, e);
  if (!content.empty()) archive_write_data(a_, content.data(), content.size());
  archive_entry_free(e);
  return *this;
}

}  // namespace bld::testing
