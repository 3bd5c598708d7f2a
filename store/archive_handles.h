// RAII for the libarchive and directory handles the store's tar code uses,
// and the locale tar names are converted under; one definition for the
// layer writer and applier, the import and the archive code.
//
// Thread safety: ScopedUtf8Ctype changes the calling thread's locale only
// (uselocale), for its lifetime; the deleters keep no state.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <locale.h>

#include "store/error.h"

namespace bld::store {

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

// libarchive converts PAX names between UTF-8 and the locale's charset: under
// UTF-8 that is the identity, so names keep their bytes (and a layer its
// digest) whatever locale the process runs in; names that are not UTF-8 are
// kept as bytes too, marked hdrcharset=BINARY.
class ScopedUtf8Ctype {
 public:
  ScopedUtf8Ctype() : locale_(newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr))) {
    if (!locale_) throw SysError("cannot load the C.UTF-8 locale for tar names");
    previous_ = uselocale(locale_);
  }
  ~ScopedUtf8Ctype() {
    uselocale(previous_);
    freelocale(locale_);
  }
  ScopedUtf8Ctype(const ScopedUtf8Ctype&) = delete;
  ScopedUtf8Ctype& operator=(const ScopedUtf8Ctype&) = delete;

 private:
  locale_t locale_;
  locale_t previous_;
};

}  // namespace bld::store
