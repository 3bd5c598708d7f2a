#include "builder/build_context.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runner/root_path.h"
#include "store/archive_reader.h"
#include "store/error.h"

namespace bld::builder {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string::npos) slash = path.size();
    if (slash > i) parts.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return parts;
}

std::string JoinRel(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "/" + b;
}

bool HasWildcard(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::vector<std::string> SortedNames(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d) throw SysError("cannot list build context directory " + dir);
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string CleanRelative(const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& c : Components(path)) {
    if (c == ".") continue;
    if (c == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(c);
  }
  std::string s;
  for (const std::string& c : out) s = JoinRel(s, c);
  return s;
}

BuildContext::BuildContext(std::string root, std::optional<parser::PatternMatcher> ignore, bool owned)
    : root_(std::move(root)), ignore_(std::move(ignore)), owned_(owned) {}

BuildContext::~BuildContext() {
  if (owned_) {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
}

static std::optional<parser::PatternMatcher> LoadIgnore(const std::string& root, const std::string& dockerfile) {
  std::optional<fs::path> file = parser::FindIgnoreFile(root, dockerfile);
  if (!file) return std::nullopt;
  std::ifstream in(*file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return parser::PatternMatcher(parser::ReadIgnoreFile(ss.str()));
  } catch (const parser::IgnoreError& e) {
    throw Error(file->string() + ": " + e.what());
  }
}

std::unique_ptr<BuildContext> BuildContext::FromDirectory(const std::string& dir, const std::string& dockerfile) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) throw SysError("build context " + dir);
  if (!S_ISDIR(st.st_mode)) throw Error("build context " + dir + " is not a directory");
  std::string root = fs::absolute(dir).lexically_normal().string();
  if (root.size() > 1 && root.back() == '/') root.pop_back();
  return std::unique_ptr<BuildContext>(new BuildContext(root, LoadIgnore(root, dockerfile), false));
}

std::unique_ptr<BuildContext> BuildContext::FromTar(int fd, const std::string& scratch_dir) {
  fs::create_directories(scratch_dir);
  // Owned from here on, so a failure below removes what was unpacked.
  std::unique_ptr<BuildContext> ctx(new BuildContext(scratch_dir, std::nullopt, true));
  store::ArchiveReader in(store::FdSource(fd, "the build context tar"), store::ArchiveReader::Format::kTar,
                          store::ArchiveReader::Filter::kAll, "build context tar");
  std::unique_ptr<archive, store::ArchiveWriteDeleter> out(archive_write_disk_new());
  // The tar may be hostile and the scratch directory is the only place it
  // may touch: names are cleaned to relative paths (no `..`) and then
  // placed under the scratch directory, and libarchive refuses to write
  // through a symlink an earlier entry planted.
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM);
  while (archive_entry* entry = in.Next()) {
    const std::string& name = in.entry_name();
    std::string clean = CleanRelative(name);
    if (clean.empty()) continue;  // the context root itself
    archive_entry_set_pathname(entry, (scratch_dir + "/" + clean).c_str());
    if (const char* hl = archive_entry_hardlink(entry))
      archive_entry_set_hardlink(entry, (scratch_dir + "/" + CleanRelative(hl)).c_str());
    if (archive_write_header(out.get(), entry) != ARCHIVE_OK)
      throw Error("build context tar entry \"" + name + "\": " + archive_error_string(out.get()));
    const void* buf;
    size_t size;
    int64_t offset;
    while (in.ReadBlock(&buf, &size, &offset))
      if (archive_write_data_block(out.get(), buf, size, offset) != ARCHIVE_OK)
        throw Error("build context tar entry \"" + name + "\": " + archive_error_string(out.get()));
    archive_write_finish_entry(out.get());
  }
  archive_write_close(out.get());
  ctx->ignore_ = LoadIgnore(scratch_dir, "");
  return ctx;
}

std::string BuildContext::ResolveInRoot(const std::string& rel, bool follow_last) const {
  auto link_of = [&](const std::string& prefix) -> std::optional<std::string> {
    std::string host = root_ + "/" + prefix;
    struct stat st;
    if (lstat(host.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return std::nullopt;
    std::vector<char> buf(PATH_MAX);
    ssize_t n = readlink(host.c_str(), buf.data(), buf.size());
    if (n < 0) throw SysError("readlink " + host);
    return std::string(buf.data(), static_cast<size_t>(n));
  };
  return runner::ResolveInRoot(rel, follow_last, link_of, "build context path " + rel);
}

parser::PatternMatcher::MatchInfo BuildContext::InfoFor(const std::string& ctx_rel) const {
  parser::PatternMatcher::MatchInfo info;
  if (!ignore_ || ctx_rel.empty()) return info;
  std::string prefix;
  for (const std::string& c : Components(ctx_rel)) {
    prefix = JoinRel(prefix, c);
    info = ignore_->Match(prefix, info);
  }
  return info;
}

bool BuildContext::Excluded(const std::string& rel) const {
  std::string clean = CleanRelative(rel);
  if (!ignore_ || clean.empty()) return false;
  try {
    return ignore_->Excluded(clean);
  } catch (const parser::IgnoreError& e) {
    throw Error(std::string(".dockerignore: ") + e.what());
  }
}

std::vector<std::string> BuildContext::Resolve(const std::string& source, bool empty_wildcard) const {
  std::string clean = CleanRelative(source);
  if (!HasWildcard(clean)) {
    std::string resolved = ResolveInRoot(clean, true);
    struct stat st;
    if (lstat((root_ + "/" + resolved).c_str(), &st) != 0 || Excluded(resolved))
      throw Error("\"" + source + "\": not found in the build context (or excluded by .dockerignore)");
    return {resolved};
  }
  // Match component by component; only the directories on the way are read.
  std::vector<std::string> candidates = {""};
  for (const std::string& c : Components(clean)) {
    std::vector<std::string> next;
    for (const std::string& dir : candidates) {
      std::string host_dir = root_ + (dir.empty() ? "" : "/" + dir);
      struct stat st;
      if (stat(host_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      if (!HasWildcard(c)) {
        std::string p = ResolveInRoot(JoinRel(dir, c), true);
        if (lstat((root_ + "/" + p).c_str(), &st) == 0) next.push_back(p);
        continue;
      }
      for (const std::string& name : SortedNames(host_dir))
        if (fnmatch(c.c_str(), name.c_str(), 0) == 0) next.push_back(ResolveInRoot(JoinRel(dir, name), true));
    }
    candidates = std::move(next);
  }
  std::vector<std::string> matches;
  for (const std::string& m : candidates)
    if (!Excluded(m)) matches.push_back(m);
  std::sort(matches.begin(), matches.end());
  matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
  if (matches.empty() && !empty_wildcard)
    throw Error("\"" + source + "\": no file in the build context matches (or all are excluded by .dockerignore)");
  return matches;
}

void BuildContext::Walk(const std::string& rel, StatCache& cache,
                        const std::function<void(const ContextEntry&)>& fn) const {
  std::string path = root_ + (rel.empty() ? "" : "/" + rel);
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) throw SysError("build context path " + rel);
  if (S_ISDIR(st.st_mode)) {
    WalkDir(rel, "", InfoFor(rel), cache, fn, true, st);
    return;
  }
  ContextEntry e;
  e.path = path;
  e.st = st;
  if (S_ISREG(st.st_mode)) e.digest = cache.FileDigest(path, st);
  if (S_ISLNK(st.st_mode)) e.link_target = fs::read_symlink(path).string();
  fn(e);
}

void BuildContext::WalkDir(const std::string& ctx_rel, const std::string& rel,
                           const parser::PatternMatcher::MatchInfo& info, StatCache& cache,
                           const std::function<void(const ContextEntry&)>& fn, bool emit_self,
                           const struct stat& self) const {
  std::string dir = root_ + (ctx_rel.empty() ? "" : "/" + ctx_rel);
  // Entries are buffered per directory so that a directory left out by
  // .dockerignore still appears when something below it is let back in.
  std::vector<ContextEntry> own;
  if (emit_self) {
    ContextEntry e;
    e.rel = rel;
    e.path = dir;
    e.st = self;
    own.push_back(e);
  }
  bool emitted_self = false;
  auto flush_self = [&] {
    if (!emitted_self && !own.empty()) {
      fn(own.front());
      emitted_self = true;
    }
  };
  if (!info.excluded()) flush_self();
  for (const std::string& name : SortedNames(dir)) {
    std::string child_ctx = JoinRel(ctx_rel, name);
    std::string child_rel = JoinRel(rel, name);
    parser::PatternMatcher::MatchInfo child_info = info;
    if (ignore_) {
      try {
        child_info = ignore_->Match(child_ctx, info);
      } catch (const parser::IgnoreError& e) {
        throw Error(std::string(".dockerignore: ") + e.what());
      }
    }
    std::string child_path = dir + "/" + name;
    struct stat st;
    if (lstat(child_path.c_str(), &st) != 0) throw SysError("build context path " + child_ctx);
    if (S_ISDIR(st.st_mode)) {
      if (child_info.excluded() && !(ignore_ && ignore_->HasExclusions())) continue;
      // Emit this directory lazily: only if it or something below is kept.
      bool any = false;
      std::function<void(const ContextEntry&)> wrapped = [&](const ContextEntry& e) {
        if (!any) {
          flush_self();
          any = true;
        }
        fn(e);
      };
      WalkDir(child_ctx, child_rel, child_info, cache, wrapped, true, st);
      continue;
    }
    if (child_info.excluded()) continue;
    flush_self();
    ContextEntry e;
    e.rel = child_rel;
    e.path = child_path;
    e.st = st;
    if (S_ISREG(st.st_mode)) e.digest = cache.FileDigest(child_path, st);
    if (S_ISLNK(st.st_mode)) e.link_target = fs::read_symlink(child_path).string();
    fn(e);
  }
}

std::optional<std::string> BuildContext::ReadFile(const std::string& rel) const {
  std::string path = root_ + "/" + ResolveInRoot(CleanRelative(rel), true);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace bld::builder
