#include "runner/file_plan_executor.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "runner/system_call.h"
#include "runner/user.h"
#include "store/archive_handles.h"
#include "store/archive_reader.h"
#include "store/fd_io.h"

namespace bld::runner {

namespace {

constexpr mode_t kParentDirMode = 0755;
constexpr size_t kCopyChunk = 1 << 20;

[[noreturn]] void Fail(const std::string& what, int err = errno) { throw SysError(what, err); }

// Opens a context file beneath the context root without following any
// symlink: the context walk resolved every path, so a symlink here was
// swapped in after the walk and must not be followed out.
UniqueFd OpenInContext(int context_fd, const std::string& rel) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, context_fd, rel.c_str(), &how, sizeof how));
  if (fd < 0) Fail("cannot open build context file " + rel);
  return UniqueFd(fd);
}

void CopyData(int from, int to, const std::string& what) {
  // copy_file_range lets the kernel move the data (reflinks where the
  // filesystem can); fall back to read/write across filesystems it refuses.
  for (;;) {
    ssize_t n = copy_file_range(from, nullptr, to, nullptr, kCopyChunk, 0);
    if (n == 0) return;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) break;
    Fail("cannot copy " + what);
  }
  std::unique_ptr<char[]> buf(new char[kCopyChunk]);
  for (;;) {
    ssize_t n = read(from, buf.get(), kCopyChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Fail("cannot read " + what);
    if (n == 0) return;
    WriteAll(to, std::string_view(buf.get(), static_cast<size_t>(n)), what);
  }
}

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

bool HasWildcard(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::string Basename(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The names in the directory `dir_fd` (without "." and ".."), in byte
// order, so that a copy is made in the same order every time.
std::vector<std::string> SortedNames(int dir_fd, const std::string& what) {
  UniqueFd copy(fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!copy) Fail("list " + what);
  std::unique_ptr<DIR, store::DirCloser> dir(fdopendir(copy.get()));
  if (!dir) Fail("list " + what);
  copy.release();  // the DIR owns it now
  std::vector<std::string> names;
  while (dirent* e = readdir(dir.get())) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class PlanRunner {
 public:
  PlanRunner(const FilePlan& plan, int source_root_fd) : plan_(plan), source_root_(source_root_fd) {}

  void Run() {
    if (!plan_.owner.empty()) owner_ = LookUpUser(plan_.owner);
    for (const FileOp& op : plan_.ops) Apply(op);
    // Directory times last: creating their children moved them.
    for (auto it = plan_.ops.rbegin(); it != plan_.ops.rend(); ++it)
      if (it->type == FileOp::Type::kDirectory && !it->keep_existing) SetTimes(it->dest, *it, 0);
  }

 private:
  uid_t Uid(const FileOp& op) const { return owner_ ? owner_->uid : op.uid; }
  gid_t Gid(const FileOp& op) const { return owner_ ? owner_->gid : op.gid; }
  mode_t Mode(const FileOp& op) const { return plan_.chmod ? *plan_.chmod : op.mode; }

  void MakeParents(const std::string& path) {
    if (path == "/") return;
    struct stat st;
    if (stat(path.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) throw Error("cannot create " + path + ": a file of another type is there");
      return;
    }
    MakeParents(Parent(path));
    if (mkdir(path.c_str(), kParentDirMode) != 0 && errno != EEXIST) Fail("mkdir " + path);
    uid_t uid = owner_ ? owner_->uid : 0;
    gid_t gid = owner_ ? owner_->gid : 0;
    if (chown(path.c_str(), uid, gid) != 0) Fail("chown " + path);
  }

  // Removes what stands at `path` unless it is a directory and `keep_dir`.
  // Returns true when a directory was kept.
  bool Clear(const std::string& path, bool keep_dir) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return false;
    if (S_ISDIR(st.st_mode)) {
      if (keep_dir) return true;
      throw Error("cannot copy to " + path + ": a directory is there");
    }
    if (unlink(path.c_str()) != 0) Fail("cannot replace " + path);
    return false;
  }

  void SetTimes(const std::string& path, const FileOp& op, int flags) {
    timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = op.mtime_sec;
    ts[0].tv_nsec = ts[1].tv_nsec = op.mtime_nsec;
    if (utimensat(AT_FDCWD, path.c_str(), ts, flags) != 0) Fail("set times of " + path);
  }

  // `dest`, or dest/<basename> when dest is a directory and the op says so.
  static std::string Target(const FileOp& op) {
    if (op.basename_if_dir.empty()) return op.dest;
    struct stat st;
    if (stat(op.dest.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return op.dest + "/" + op.basename_if_dir;
    return op.dest;
  }

  void Apply(const FileOp& in) {
    FileOp op = in;
    op.dest = Target(in);
    MakeParents(Parent(op.dest));
    switch (op.type) {
      case FileOp::Type::kDirectory: {
        if (Clear(op.dest, true)) {
          if (op.keep_existing) break;
        } else if (mkdir(op.dest.c_str(), 0700) != 0) {
          Fail("mkdir " + op.dest);
        }
        if (lchown(op.dest.c_str(), Uid(op), Gid(op)) != 0) Fail("chown " + op.dest);
        if (chmod(op.dest.c_str(), Mode(op) & 07777) != 0) Fail("chmod " + op.dest);
        break;
      }
      case FileOp::Type::kFile: {
        Clear(op.dest, false);
        UniqueFd out(open(op.dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) Fail("cannot create " + op.dest);
        if (op.content) {
          WriteAll(out.get(), *op.content, op.dest);
        } else if (op.source_fd >= 0) {
          if (lseek(op.source_fd, 0, SEEK_SET) != 0) Fail("seek " + op.dest);
          CopyData(op.source_fd, out.get(), op.dest);
        } else {
          UniqueFd in = OpenInContext(plan_.context_fd, op.context_path);
          CopyData(in.get(), out.get(), op.context_path);
        }
        // chown before chmod: chown clears setuid and setgid bits.
        if (fchown(out.get(), Uid(op), Gid(op)) != 0) Fail("chown " + op.dest);
        if (fchmod(out.get(), Mode(op) & 07777) != 0) Fail("chmod " + op.dest);
        timespec ts[2] = {{op.mtime_sec, op.mtime_nsec}, {op.mtime_sec, op.mtime_nsec}};
        if (futimens(out.get(), ts) != 0) Fail("set times of " + op.dest);
        break;
      }
      case FileOp::Type::kSymlink:
        Clear(op.dest, false);
        if (symlink(op.link_target.c_str(), op.dest.c_str()) != 0) Fail("symlink " + op.dest);
        if (lchown(op.dest.c_str(), Uid(op), Gid(op)) != 0) Fail("chown " + op.dest);
        SetTimes(op.dest, op, AT_SYMLINK_NOFOLLOW);
        break;
      case FileOp::Type::kArchive: Extract(op); break;
      case FileOp::Type::kFromImage: CopyFromImage(in); break;
    }
  }

  // COPY --from: the source path (wildcards in its last component) in the
  // source image's root, each match copied as Docker does: a directory's
  // contents into the destination, a file to it (or into it).
  void CopyFromImage(const FileOp& op) {
    std::string path = op.source_path;
    // (name, path in the source root, O_PATH descriptor)
    struct Match {
      std::string name, path;
      UniqueFd fd;
    };
    std::vector<Match> matches;
    std::string parent = Parent(path), base = Basename(path);
    if (HasWildcard(parent)) throw Error("COPY --from " + path + ": wildcards are only supported in the last path component");
    if (HasWildcard(base)) {
      UniqueFd dir = OpenInRoot(source_root_, parent, O_RDONLY | O_DIRECTORY);
      if (!dir) Fail("COPY --from: " + parent + " in the source image");
      std::vector<std::string> names = SortedNames(dir.get(), parent);
      std::erase_if(names, [&](const std::string& n) { return fnmatch(base.c_str(), n.c_str(), 0) != 0; });
      for (const std::string& n : names) {
        UniqueFd fd = OpenInRoot(source_root_, parent + "/" + n, O_PATH);
        if (fd) matches.push_back({n, parent + "/" + n, std::move(fd)});
      }
    } else {
      UniqueFd fd = OpenInRoot(source_root_, path, O_PATH);
      if (fd) matches.push_back({base, path, std::move(fd)});
    }
    if (matches.empty()) throw Error("COPY --from: \"" + path + "\" not found in the source image");
    bool into_dir = op.dest.ends_with("/") || matches.size() > 1 || HasWildcard(base);
    std::string dest = op.dest;
    while (dest.size() > 1 && dest.back() == '/') dest.pop_back();
    for (Match& m : matches) {
      const std::string& name = m.name;
      struct stat st;
      if (fstat(m.fd.get(), &st) != 0) Fail("stat " + name);
      if (S_ISDIR(st.st_mode)) {
        MakeParents(Parent(dest));
        UniqueFd dir(openat(m.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) Fail("open " + m.path + " in the source image");
        CopyTree(dir.get(), dest, st, true);
      } else {
        FileOp single;
        single.dest = dest;
        single.basename_if_dir = name;
        std::string target = into_dir ? dest + "/" + name : Target(single);
        MakeParents(Parent(target));
        // A named source that is a symlink was followed (inside the source
        // root), as Docker follows it; open what it points to.
        UniqueFd file;
        if (S_ISREG(st.st_mode)) file = OpenInRoot(source_root_, m.path, O_RDONLY);
        CopyEntry(m.fd.get(), "", target, st, std::move(file));
      }
    }
  }

  void SetOwnerModeTimes(const std::string& path, const struct stat& st) {
    uid_t uid = owner_ ? owner_->uid : st.st_uid;
    gid_t gid = owner_ ? owner_->gid : st.st_gid;
    if (lchown(path.c_str(), uid, gid) != 0) Fail("chown " + path);
    if (!S_ISLNK(st.st_mode) && chmod(path.c_str(), plan_.chmod ? *plan_.chmod : st.st_mode & 07777) != 0)
      Fail("chmod " + path);
    timespec ts[2] = {st.st_atim, st.st_mtim};
    if (utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) Fail("set times of " + path);
  }

  // One non-directory entry `name` of the directory `dir_fd` in the source
  // image, never followed if it is a symlink. `file` (optional) is the entry
  // already open for reading.
  void CopyEntry(int dir_fd, const std::string& name, const std::string& dest, const struct stat& st,
                 UniqueFd file = UniqueFd()) {
    Clear(dest, false);
    if (S_ISREG(st.st_mode)) {
      if (!file) file = UniqueFd(openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!file) Fail("open " + name + " in the source image");
      UniqueFd out(open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!out) Fail("cannot create " + dest);
      CopyData(file.get(), out.get(), name);
    } else if (S_ISLNK(st.st_mode)) {
      std::vector<char> buf(PATH_MAX);
      ssize_t n = readlinkat(dir_fd, name.c_str(), buf.data(), buf.size());
      if (n < 0) Fail("readlink " + name);
      if (symlink(std::string(buf.data(), static_cast<size_t>(n)).c_str(), dest.c_str()) != 0) Fail("symlink " + dest);
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      if (mknod(dest.c_str(), st.st_mode, st.st_rdev) != 0) Fail("mknod " + dest);
    } else {
      return;  // sockets cannot be copied, as in Docker
    }
    SetOwnerModeTimes(dest, st);
  }

  void CopyTree(int dir_fd, const std::string& dest, const struct stat& st, bool top) {
    struct stat existing;
    bool exists = lstat(dest.c_str(), &existing) == 0;
    if (exists && !S_ISDIR(existing.st_mode)) Clear(dest, false), exists = false;
    if (!exists && mkdir(dest.c_str(), 0700) != 0) Fail("mkdir " + dest);
    UniqueFd dir(openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) Fail("open directory " + dest + " in the source image");
    for (const std::string& n : SortedNames(dir.get(), dest)) {
      struct stat cst;
      if (fstatat(dir.get(), n.c_str(), &cst, AT_SYMLINK_NOFOLLOW) != 0) Fail("stat " + dest + "/" + n);
      if (S_ISDIR(cst.st_mode)) {
        UniqueFd child(openat(dir.get(), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!child) Fail("open " + dest + "/" + n + " in the source image");
        CopyTree(child.get(), dest + "/" + n, cst, false);
      } else {
        CopyEntry(dir.get(), n, dest + "/" + n, cst);
      }
    }
    // The destination of a top-level directory keeps what it had, as with
    // contents copied from the context.
    if (!(top && exists)) SetOwnerModeTimes(dest, st);
  }

  // ADD of a local archive: its entries land under op.dest, owners as the
  // archive says (or the plan's owner), refusing `..`, absolute names and
  // writes through symlinks.
  void Extract(const FileOp& op) {
    MakeParents(op.dest);
    std::unique_ptr<archive, store::ArchiveWriteDeleter> out(archive_write_disk_new());
    archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                  ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_TIME |
                                                  ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
                                                  ARCHIVE_EXTRACT_XATTR);
    UniqueFd fd = OpenInContext(plan_.context_fd, op.context_path);
    const std::string what = "ADD " + op.context_path;
    store::ArchiveReader in(store::FdSource(fd.get(), op.context_path), store::ArchiveReader::Format::kTar,
                            store::ArchiveReader::Filter::kAll, what);
    auto write_failed = [&]() {
      const char* detail = archive_error_string(out.get());
      return Error(what + ": entry \"" + in.entry_name() + "\": " + (detail ? detail : "cannot be written"));
    };
    if (chdir(op.dest.c_str()) != 0) Fail("chdir " + op.dest);
    while (archive_entry* entry = in.Next()) {
      if (owner_) {
        archive_entry_set_uid(entry, owner_->uid);
        archive_entry_set_gid(entry, owner_->gid);
      }
      if (archive_write_header(out.get(), entry) != ARCHIVE_OK) throw write_failed();
      const void* buf;
      size_t size;
      int64_t offset;
      while (in.ReadBlock(&buf, &size, &offset))
        if (archive_write_data_block(out.get(), buf, size, offset) != ARCHIVE_OK) throw write_failed();
      archive_write_finish_entry(out.get());
    }
    archive_write_close(out.get());
    if (chdir("/") != 0) Fail("chdir /");
  }

  const FilePlan& plan_;
  int source_root_;
  std::optional<ExecUser> owner_;
};

}  // namespace

void CarryOutFilePlan(const FilePlan& plan, int source_root_fd) { PlanRunner(plan, source_root_fd).Run(); }

}  // namespace bld::runner
