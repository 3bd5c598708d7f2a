#include "store/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <exception>
#include <map>
#include <utility>

#include "store/archive_handles.h"
#include "store/error.h"
#include "store/unique_fd.h"

namespace bld::store {

namespace {

// File contents stream through a buffer of this size: large enough for
// sequential read throughput, small enough to keep memory flat.
constexpr size_t kFileReadChunk = 1024 * 1024;
// libarchive hands the tar to us in blocks of this size. With
// archive_write_set_bytes_in_last_block(1) the last block is not padded, so
// the size changes only how often the callback runs, never the bytes.
constexpr int kTarBlockSize = 128 * 1024;

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
// Whiteouts and opaque markers are empty files with fixed metadata.
constexpr mode_t kMarkerMode = 0600;

constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";
constexpr std::string_view kOverlayOpaqueXattr = "trusted.overlay.opaque";
// Set on a renamed directory (redirect_dir=on) and on a file whose data stays
// in a lower layer (metacopy=on): the upper dir alone is then not the diff.
constexpr std::string_view kOverlayRedirectXattr = "trusted.overlay.redirect";
constexpr std::string_view kOverlayMetacopyXattr = "trusted.overlay.metacopy";

// Makes the calling thread's character set UTF-8 for the object's lifetime.

using Xattrs = std::vector<std::pair<std::string, std::string>>;

std::string ChildPath(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

// Tree order: '/' sorts before every other byte, so a directory's whole
// subtree comes right after it, before its next sibling ("a", "a/b", "a-b").
// This is the order of a depth-first walk that lists each directory sorted.
struct TreeLess {
  bool operator()(std::string_view a, std::string_view b) const {
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      if (a[i] == b[i]) continue;
      if (a[i] == '/') return true;
      if (b[i] == '/') return false;
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
    }
    return a.size() < b.size();
  }
};

// Reads every extended attribute of `name` in directory `dirfd` without
// following a symlink, sorted by name. The path goes through /proc/self/fd so
// that it stays short however deep the tree is.
Xattrs ReadXattrs(int dirfd, const std::string& name, const std::string& where) {
  std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  std::string names;
  while (true) {
    ssize_t size = llistxattr(path.c_str(), nullptr, 0);
    if (size < 0) {
      if (errno == ENOTSUP) return {};
      throw SysError("cannot list extended attributes of \"" + where + "\"");
    }
    names.resize(static_cast<size_t>(size));
    size = llistxattr(path.c_str(), names.data(), names.size());
    if (size >= 0) {
      names.resize(static_cast<size_t>(size));
      break;
    }
    if (errno != ERANGE) throw SysError("cannot list extended attributes of \"" + where + "\"");
  }
  Xattrs xattrs;
  for (size_t pos = 0; pos < names.size();) {
    std::string key(names.c_str() + pos);
    pos += key.size() + 1;
    std::string value;
    while (true) {
      ssize_t size = lgetxattr(path.c_str(), key.c_str(), nullptr, 0);
      if (size < 0) break;  // removed since the listing: nothing to keep
      value.resize(static_cast<size_t>(size));
      size = lgetxattr(path.c_str(), key.c_str(), value.data(), value.size());
      if (size >= 0) {
        value.resize(static_cast<size_t>(size));
        xattrs.emplace_back(std::move(key), std::move(value));
        break;
      }
      if (errno != ERANGE) throw SysError("cannot read extended attribute " + key + " of \"" + where + "\"");
    }
  }
  std::sort(xattrs.begin(), xattrs.end());
  return xattrs;
}

// The tar stream of one layer and the pipeline behind it:
// libarchive -> diffID hash -> compressor -> digest hash -> caller's sink.
class LayerTar {
 public:
  LayerTar(const LayerWriteOptions& options, const ByteSink& sink)
      : options_(options),
        sink_(sink),
        compressor_(options.compression, [this](const void* data, size_t size) { OnBlobBytes(data, size); },
                    options.compress),
        archive_(archive_write_new()),
        buffer_(kFileReadChunk) {
    if (!archive_) throw Error("writing layer: cannot allocate a libarchive writer");
    Check(archive_write_set_format_pax(archive_.get()), "select the PAX format");
    // SCHILY.xattr records are what Docker, containerd and GNU tar read; the
    // LIBARCHIVE.xattr duplicates would only make the layer bigger.
    Check(archive_write_set_format_option(archive_.get(), "pax", "xattrheader", "SCHILY"), "set xattrheader");
    Check(archive_write_set_bytes_per_block(archive_.get(), kTarBlockSize), "set the block size");
    Check(archive_write_set_bytes_in_last_block(archive_.get(), 1), "set the last block size");
    Check(archive_write_open(archive_.get(), this, nullptr, &LayerTar::WriteCallback, nullptr), "open the stream");
  }

  // Abandoned without Finish (an error): libarchive flushes what it holds
  // when freed, and none of it may reach the sink.
  ~LayerTar() { discard_output_ = true; }

  // Writes the entry for `name` in `dirfd`, called `path` in the layer.
  // `st` comes from fstatat(AT_SYMLINK_NOFOLLOW); `where` names it in errors.
  void AddFromDisk(int dirfd, const std::string& name, const std::string& path, const struct stat& st,
                   const Xattrs& xattrs, const std::string& where) {
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_copy_pathname(entry.get(), S_ISDIR(st.st_mode) ? (path + "/").c_str() : path.c_str());
    archive_entry_set_mode(entry.get(), st.st_mode);
    archive_entry_set_uid(entry.get(), st.st_uid);
    archive_entry_set_gid(entry.get(), st.st_gid);
    archive_entry_set_mtime(entry.get(), ClampTime(st.st_mtim.tv_sec), 0);
    // libarchive keeps xattrs in reverse order of insertion; adding them in
    // reverse name order writes them in name order.
    for (auto it = xattrs.rbegin(); it != xattrs.rend(); ++it) {
      if (it->first.starts_with(kOverlayXattrPrefix)) continue;
      archive_entry_xattr_add_entry(entry.get(), it->first.c_str(), it->second.data(), it->second.size());
    }

    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, path);
      if (!first) {
        archive_entry_set_size(entry.get(), 0);
        archive_entry_copy_hardlink(entry.get(), it->second.c_str());
        WriteHeader(entry.get(), path);
        return;
      }
    }

    if (S_ISREG(st.st_mode)) {
      WriteRegular(dirfd, name, path, st, entry.get(), where);
      return;
    }
    if (S_ISLNK(st.st_mode)) {
      archive_entry_copy_symlink(entry.get(), ReadLink(dirfd, name, st, where).c_str());
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      archive_entry_set_rdevmajor(entry.get(), major(st.st_rdev));
      archive_entry_set_rdevminor(entry.get(), minor(st.st_rdev));
    }
    WriteHeader(entry.get(), path);
  }

  // A whiteout or opaque marker: an empty file whose name is the message.
  void AddMarker(const std::string& path) {
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_copy_pathname(entry.get(), path.c_str());
    archive_entry_set_mode(entry.get(), S_IFREG | kMarkerMode);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_mtime(entry.get(), 0, 0);
    archive_entry_set_size(entry.get(), 0);
    WriteHeader(entry.get(), path);
  }

  LayerInfo Finish() {
    Check(archive_write_close(archive_.get()), "finish the tar");
    compressor_.Finish();
    LayerInfo info;
    info.diff_id = diff_hasher_.Finish();
    info.digest = blob_hasher_.Finish();
    info.uncompressed_size = uncompressed_size_;
    info.compressed_size = compressed_size_;
    info.media_type = options_.compression == Compression::kGzip   ? kMediaTypeLayerGzip
                      : options_.compression == Compression::kZstd ? kMediaTypeLayerZstd
                                                                   : kMediaTypeLayerTar;
    return info;
  }

 private:
  int64_t ClampTime(int64_t seconds) const {
    return options_.source_date_epoch ? std::min(seconds, *options_.source_date_epoch) : seconds;
  }

  void WriteRegular(int dirfd, const std::string& name, const std::string& path, const struct stat& listed,
                    archive_entry* entry, const std::string& where) {
    UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
    if (!fd) throw SysError("writing layer: cannot open \"" + where + "\"");
    struct stat st;
    if (fstat(fd.get(), &st) != 0) throw SysError("writing layer: cannot stat \"" + where + "\"");
    if (!S_ISREG(st.st_mode) || st.st_ino != listed.st_ino)
      throw Error("writing layer: \"" + where + "\" was replaced while the layer was being written");
    archive_entry_set_size(entry, st.st_size);
    WriteHeader(entry, path);
    int64_t left = st.st_size;
    while (left > 0) {
      ssize_t n = read(fd.get(), buffer_.data(), static_cast<size_t>(std::min<int64_t>(left, buffer_.size())));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw SysError("writing layer: cannot read \"" + where + "\"");
      }
      if (n == 0) throw Error("writing layer: \"" + where + "\" shrank while the layer was being written");
      la_ssize_t written = archive_write_data(archive_.get(), buffer_.data(), static_cast<size_t>(n));
      if (written != n) Check(ARCHIVE_FATAL, "write the content of \"" + path + "\"");
      left -= n;
    }
  }

  static std::string ReadLink(int dirfd, const std::string& name, const struct stat& st, const std::string& where) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    while (true) {
      ssize_t n = readlinkat(dirfd, name.c_str(), target.data(), target.size());
      if (n < 0) throw SysError("writing layer: cannot read the symlink \"" + where + "\"");
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        return target;
      }
      target.resize(target.size() * 2);
    }
  }

  void WriteHeader(archive_entry* entry, const std::string& path) {
    int rc = archive_write_header(archive_.get(), entry);
    // ARCHIVE_WARN: a name that is not UTF-8, written as bytes (see
    // ScopedUtf8Ctype).
    Check(rc == ARCHIVE_WARN ? ARCHIVE_OK : rc, "write the entry \"" + path + "\"");
  }

  void Check(int rc, const std::string& what) {
    if (pending_) std::rethrow_exception(std::exchange(pending_, nullptr));
    if (rc == ARCHIVE_OK) return;
    const char* detail = archive_error_string(archive_.get());
    throw Error("writing layer: cannot " + what + ": " + (detail ? detail : "libarchive error"));
  }

  static la_ssize_t WriteCallback(archive*, void* self, const void* data, size_t size) {
    auto* tar = static_cast<LayerTar*>(self);
    if (tar->discard_output_) return static_cast<la_ssize_t>(size);
    // Exceptions (a full disk behind the sink) must not unwind through
    // libarchive's C frames: keep them for Check to rethrow.
    try {
      tar->diff_hasher_.Update(data, size);
      tar->uncompressed_size_ += size;
      tar->compressor_.Write(data, size);
      return static_cast<la_ssize_t>(size);
    } catch (...) {
      tar->pending_ = std::current_exception();
      return -1;
    }
  }

  void OnBlobBytes(const void* data, size_t size) {
    blob_hasher_.Update(data, size);
    compressed_size_ += size;
    sink_(data, size);
  }

  // First member: libarchive picks its name conversion when it starts.
  ScopedUtf8Ctype utf8_;
  const LayerWriteOptions& options_;
  const ByteSink& sink_;
  Sha256 diff_hasher_;
  Sha256 blob_hasher_;
  uint64_t uncompressed_size_ = 0;
  uint64_t compressed_size_ = 0;
  Compressor compressor_;
  std::unique_ptr<archive, ArchiveWriteDeleter> archive_;
  std::exception_ptr pending_;
  bool discard_output_ = false;
  // First path written for each multiply-linked inode.
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::vector<char> buffer_;
};

UniqueFd OpenSourceDirectory(const std::string& dir) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw SysError("writing layer: cannot open the directory \"" + dir + "\"");
  return fd;
}

void RefuseWhiteoutName(std::string_view name, const std::string& where) {
  if (name.starts_with(kWhiteoutPrefix))
    throw Error("writing layer: \"" + where + "\" has a name reserved for whiteouts (\".wh.\" prefix)");
}

// For overlay upper dirs: whether a directory is opaque, and a refusal for
// entries whose content lives in the lower layers.
bool IsOpaqueOverlayEntry(const Xattrs& xattrs, const std::string& where) {
  bool opaque = false;
  for (const auto& [key, value] : xattrs) {
    if (key == kOverlayRedirectXattr || key == kOverlayMetacopyXattr)
      throw Error("writing layer: \"" + where + "\" has " + key +
                  ": the upper dir does not hold the whole diff; mount overlayfs with redirect_dir=off and "
                  "metacopy=off");
    if (key == kOverlayOpaqueXattr && value == "y") opaque = true;
  }
  return opaque;
}

// The depth-first walk of a source tree in tree order.
class TreeWalker {
 public:
  TreeWalker(LayerTar& tar, std::string root, bool overlay_upper)
      : tar_(tar), root_(std::move(root)), overlay_upper_(overlay_upper) {}

  void Walk(int dirfd, const std::string& rel) {
    struct Child {
      std::string layer_name;  // the name in the layer (".wh.x" for a whiteout)
      std::string disk_name;
      struct stat st;
      bool whiteout;
    };
    std::vector<Child> children;
    {
      // fdopendir takes its own descriptor: dirfd stays ours for *at calls.
      UniqueFd listing_fd(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!listing_fd) throw SysError("writing layer: cannot open \"" + Where(rel) + "\"");
      std::unique_ptr<DIR, DirCloser> dir(fdopendir(listing_fd.get()));
      if (!dir) throw SysError("writing layer: cannot list \"" + Where(rel) + "\"");
      listing_fd.release();
      errno = 0;
      while (dirent* d = readdir(dir.get())) {
        std::string name = d->d_name;
        if (name == "." || name == "..") continue;
        Child child{name, name, {}, false};
        if (fstatat(dirfd, name.c_str(), &child.st, AT_SYMLINK_NOFOLLOW) != 0)
          throw SysError("writing layer: cannot stat \"" + Where(ChildPath(rel, name)) + "\"");
        if (S_ISSOCK(child.st.st_mode)) continue;
        if (overlay_upper_ && S_ISCHR(child.st.st_mode) && child.st.st_rdev == makedev(0, 0)) {
          child.whiteout = true;
          child.layer_name = std::string(kWhiteoutPrefix) + name;
        } else {
          RefuseWhiteoutName(name, Where(ChildPath(rel, name)));
        }
        children.push_back(std::move(child));
        errno = 0;
      }
      if (errno != 0) throw SysError("writing layer: cannot list \"" + Where(rel) + "\"");
    }
    std::sort(children.begin(), children.end(),
              [](const Child& a, const Child& b) { return TreeLess()(a.layer_name, b.layer_name); });

    for (const Child& child : children) {
      std::string path = ChildPath(rel, child.layer_name);
      if (child.whiteout) {
        tar_.AddMarker(path);
        continue;
      }
      std::string where = Where(path);
      Xattrs xattrs = ReadXattrs(dirfd, child.disk_name, where);
      bool opaque = overlay_upper_ && IsOpaqueOverlayEntry(xattrs, where);
      tar_.AddFromDisk(dirfd, child.disk_name, path, child.st, xattrs, where);
      if (!S_ISDIR(child.st.st_mode)) continue;
      if (opaque) tar_.AddMarker(ChildPath(path, kOpaqueMarker));
      UniqueFd subdir(openat(dirfd, child.disk_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!subdir) throw SysError("writing layer: cannot open \"" + where + "\"");
      Walk(subdir.get(), path);
    }
  }

 private:
  std::string Where(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }

  LayerTar& tar_;
  std::string root_;
  bool overlay_upper_;
};

LayerInfo WriteTree(const std::string& dir, bool overlay_upper, const LayerWriteOptions& options,
                    const ByteSink& sink) {
  UniqueFd root = OpenSourceDirectory(dir);
  LayerTar tar(options, sink);
  TreeWalker(tar, dir, overlay_upper).Walk(root.get(), "");
  return tar.Finish();
}

}  // namespace

LayerInfo WriteLayerFromDirectory(const std::string& dir, const LayerWriteOptions& options, const ByteSink& sink) {
  return WriteTree(dir, false, options, sink);
}

LayerInfo WriteLayerFromOverlayUpper(const std::string& upperdir, const LayerWriteOptions& options,
                                     const ByteSink& sink) {
  return WriteTree(upperdir, true, options, sink);
}

}  // namespace bld::store
