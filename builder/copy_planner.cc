#include "builder/copy_planner.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "builder/config_step.h"
#include "registry/url_fetch.h"
#include "store/archive_reader.h"
#include "store/digest.h"
#include "store/error.h"

namespace bld::builder {

namespace {

bool HasWildcard(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }
bool IsUrl(const std::string& s) { return s.starts_with("http://") || s.starts_with("https://"); }

std::string Basename(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string Join(const std::string& dir, const std::string& name) {
  if (name.empty()) return dir;
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// The destination as an absolute path (relative ones are under WORKDIR),
// without its trailing slash; `is_dir` when it was written with one.
std::string Destination(const CopyRequest& req, bool* is_dir) {
  const std::string& raw = req.args.back();
  *is_dir = raw.ends_with("/") || raw == "." || raw.ends_with("/.");
  std::string abs = raw.starts_with("/") ? ResolveWorkdir("/", raw) : ResolveWorkdir(req.workdir, raw);
  return abs;
}

std::optional<mode_t> ChmodOf(const CopyRequest& req) {
  if (req.chmod.empty()) return std::nullopt;
  char* end = nullptr;
  unsigned long mode = std::strtoul(req.chmod.c_str(), &end, 8);
  if (*end != '\0' || mode > 07777) throw Error("invalid --chmod=" + req.chmod + ": the mode must be an octal number");
  return static_cast<mode_t>(mode);
}

// Whether a context file is an archive ADD unpacks: a tar, possibly
// compressed, whose first header (or end) reads cleanly.
bool IsTarArchive(const std::string& path) {
  store::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  try {
    store::ArchiveReader reader(store::FdSource(fd.get(), path), store::ArchiveReader::Format::kTar,
                                store::ArchiveReader::Filter::kAll, path);
    reader.Next();
    return true;
  } catch (const Error&) {
    return false;  // not an archive: ADD copies the file as it is
  }
}

// Downloads `url` into an unlinked temporary file in `scratch_dir` through
// the registry's HTTP client (registry/url_fetch.h: timeouts, retries, TLS
// as for the host's registry, no HTTPS-to-HTTP redirect, a size limit).
std::shared_ptr<runner::UniqueFd> Download(const std::string& url, const std::string& scratch_dir,
                                           registry::FetchedFile* fetched) {
  std::string tmpl = scratch_dir + "/add-XXXXXX";
  int fd = mkstemp(tmpl.data());
  if (fd < 0) throw SysError("ADD " + url + ": cannot create a temporary file in " + scratch_dir);
  auto file = std::make_shared<runner::UniqueFd>(fd);
  unlink(tmpl.c_str());
  registry::HttpClient client(registry::HttpClient::Options{});
  registry::RegistryHosts hosts(registry::RegistryHosts::FromEnvironment());
  try {
    *fetched = registry::FetchUrl(client, hosts, url, fd);
  } catch (const Error& e) {
    throw Error("ADD: " + std::string(e.what()));
  }
  return file;
}

// --parents: the directories between the pivot and a kept path, made under
// `dest` with the context's modes and times, as a walk of them would.
void AddParentDirectories(const BuildContext& context, const std::string& pivot, const std::string& kept,
                          const std::string& dest, runner::FilePlan& plan) {
  std::string rel;
  for (size_t slash = kept.find('/'); slash != std::string::npos; slash = kept.find('/', slash + 1)) {
    rel = kept.substr(0, slash);
    std::string host = context.root() + "/" + (pivot.empty() ? rel : pivot + "/" + rel);
    struct stat st;
    if (lstat(host.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    runner::FileOp op;
    op.type = runner::FileOp::Type::kDirectory;
    op.dest = Join(dest, rel);
    op.mode = st.st_mode & 07777;
    op.mtime_sec = st.st_mtim.tv_sec;
    op.mtime_nsec = st.st_mtim.tv_nsec;
    op.keep_existing = true;
    plan.ops.push_back(op);
  }
}
// A COPY or ADD from the build context, planned one source at a time:
// heredocs, URLs (ADD), directories walked through the context's ignore
// rules and --exclude, and single files, symlinks and archives (ADD unpacks
// those). With --parents each match keeps its path below the pivot.
class ContextCopyPlanner {
 public:
  ContextCopyPlanner(const CopyRequest& req, const BuildContext& context, StatCache& cache, CopySources& out)
      : req_(req),
        ins_(*req.instruction),
        context_(context),
        cache_(cache),
        out_(out),
        is_add_(ins_.keyword == parser::Keyword::kAdd),
        dest_(Destination(req, &dest_is_dir_)) {
    // --parents keeps each source's path: the destination is a directory.
    dest_is_dir_ = dest_is_dir_ || req.parents;
    try {
      if (!req.excludes.empty()) excludes_.emplace(req.excludes);
    } catch (const parser::IgnoreError& e) {
      throw Error(Keyword() + " --exclude: " + e.what());
    }
  }

  void Plan() {
    for (const Pending& p : ResolveSources()) {
      const std::string& src = p.source;
      if (src.starts_with("<<") && p.matches.empty() && next_heredoc_ < ins_.heredocs.size()) {
        AddHeredoc(ins_.heredocs[next_heredoc_++]);
      } else if (is_add_ && IsUrl(src)) {
        AddUrl(src);
      } else {
        // --parents: the part of the source before "/./", else the context root.
        std::string pivot;
        if (req_.parents && src.find("/./") != std::string::npos)
          pivot = CleanRelative(src.substr(0, src.find("/./")));
        for (const std::string& m : p.matches) AddContextPath(src, pivot, m);
      }
    }
  }

 private:
  struct Pending {
    std::string source;
    std::vector<std::string> matches;  // context paths; none for heredocs and URLs
  };

  std::string Keyword() const { return std::string(parser::KeywordName(ins_.keyword)); }

  bool Excluded(const std::string& path) const {
    try {
      return excludes_ && excludes_->Excluded(path);
    } catch (const parser::IgnoreError& e) {
      throw Error(Keyword() + " --exclude: " + e.what());
    }
  }

  std::vector<Pending> ResolveSources() const {
    size_t matched_total = 0;
    bool any_wildcard = false;
    std::string unmatched;  // the first wildcard that matched nothing
    std::vector<Pending> resolved;
    for (auto src = req_.args.begin(); src + 1 < req_.args.end(); ++src) {
      if ((src->starts_with("<<") && next_heredoc_ < ins_.heredocs.size()) || (is_add_ && IsUrl(*src))) {
        resolved.push_back({*src, {}});
        ++matched_total;
        continue;
      }
      if (IsUrl(*src)) throw Error("COPY " + *src + ": COPY cannot download URLs, use ADD");
      any_wildcard = any_wildcard || HasWildcard(*src);
      // A wildcard that matches nothing beside other sources is no error, as
      // in BuildKit; only a copy of nothing at all is.
      Pending p{*src, context_.Resolve(*src, true)};
      if (p.matches.empty() && unmatched.empty()) unmatched = *src;
      matched_total += p.matches.size();
      resolved.push_back(std::move(p));
    }
    if (matched_total == 0 && !unmatched.empty())
      throw Error("\"" + unmatched + "\": no file in the build context matches (or all are excluded by .dockerignore)");
    if ((matched_total > 1 || any_wildcard) && !dest_is_dir_ && matched_total != 1)
      throw Error(Keyword() + ": when copying more than one source, the destination must be a directory and end with a /");
    return resolved;
  }

  void AddHeredoc(const parser::Heredoc& doc) {
    std::string content = doc.content;
    if (doc.expand) {
      parser::LexOptions o;
      o.escape = req_.escape;
      o.raw_quotes = true;
      o.raw_escapes = true;
      try {
        content = parser::ShellLexer(o).ProcessWord(content, req_.vars);
      } catch (const parser::ExpandError& e) {
        throw Error("heredoc " + doc.name + ": " + e.what());
      }
    }
    runner::FileOp op;
    op.type = runner::FileOp::Type::kFile;
    op.dest = dest_is_dir_ ? Join(dest_, doc.name) : dest_;
    op.content = content;
    op.mode = 0644;
    out_.plan.ops.push_back(op);
    out_.hashes["<<" + doc.name] = store::Sha256::Of(content).str();
  }

  void AddUrl(const std::string& src) {
    registry::FetchedFile fetched;
    auto file = Download(src, req_.scratch_dir, &fetched);
    const store::Digest& digest = fetched.digest;
    if (!req_.checksum.empty() && req_.checksum != digest.str())
      throw Error("ADD " + src + ": checksum mismatch: expected " + req_.checksum + ", got " + digest.str());
    std::string name = Basename(src.substr(0, src.find_first_of("?#")));
    runner::FileOp op;
    op.type = runner::FileOp::Type::kFile;
    op.dest = dest_is_dir_ ? Join(dest_, name) : dest_;
    op.source_fd = file->get();
    op.mode = 0600;
    op.mtime_sec = fetched.last_modified;
    out_.plan.ops.push_back(op);
    out_.open_files.push_back(file);
    out_.hashes[src] = digest.str();
  }

  // The context path `m`, a match of the source `src`.
  void AddContextPath(const std::string& src, const std::string& pivot, const std::string& m) {
    if (Excluded(m) || Excluded(Basename(m))) return;
    std::string host = context_.root() + (m.empty() ? "" : "/" + m);
    struct stat st;
    if (lstat(host.c_str(), &st) != 0) throw SysError("build context path " + m);
    std::string match_dest = dest_;
    if (req_.parents) {
      std::string kept = m;
      if (!pivot.empty()) {
        if (m != pivot && !m.starts_with(pivot + "/"))
          throw Error(Keyword() + " --parents " + src + ": " + m + " is not below " + pivot);
        kept = m == pivot ? "" : m.substr(pivot.size() + 1);
      }
      AddParentDirectories(context_, pivot, kept, dest_, out_.plan);
      match_dest = Join(dest_, kept);
    }
    if (S_ISDIR(st.st_mode)) {
      context_.Walk(m, cache_, [&](const ContextEntry& e) { AddTreeEntry(m, match_dest, e); });
    } else {
      AddSingle(m, host, st, match_dest);
    }
  }

  // An entry of the directory `m` named as a source, its content copied
  // under `match_dest`.
  void AddTreeEntry(const std::string& m, const std::string& match_dest, const ContextEntry& e) {
    if (!e.rel.empty() && Excluded(e.rel)) return;
    runner::FileOp op;
    op.dest = Join(match_dest, e.rel);
    op.mode = e.st.st_mode & 07777;
    op.mtime_sec = e.st.st_mtim.tv_sec;
    op.mtime_nsec = e.st.st_mtim.tv_nsec;
    std::string ctx_path = m.empty() ? e.rel : (e.rel.empty() ? m : m + "/" + e.rel);
    if (S_ISDIR(e.st.st_mode)) {
      op.type = runner::FileOp::Type::kDirectory;
      op.keep_existing = e.rel.empty() && !req_.parents;
      out_.hashes[ctx_path + "/"] = EntryHash(e, "d");
    } else if (S_ISLNK(e.st.st_mode)) {
      op.type = runner::FileOp::Type::kSymlink;
      op.link_target = e.link_target;
      out_.hashes[ctx_path] = EntryHash(e, "l");
    } else if (S_ISREG(e.st.st_mode)) {
      op.type = runner::FileOp::Type::kFile;
      op.context_path = ctx_path;
      out_.hashes[ctx_path] = EntryHash(e, "f");
    } else {
      return;  // devices, fifos and sockets in a context are not copied
    }
    out_.plan.ops.push_back(op);
  }

  // A file or symlink named as a source (ADD unpacks a tar archive).
  void AddSingle(const std::string& m, const std::string& host, const struct stat& st, const std::string& match_dest) {
    ContextEntry e;
    e.st = st;
    runner::FileOp op;
    op.mode = st.st_mode & 07777;
    op.mtime_sec = st.st_mtim.tv_sec;
    op.mtime_nsec = st.st_mtim.tv_nsec;
    std::string name = Basename(m);
    if (S_ISLNK(st.st_mode)) {
      // A dangling symlink named as a source is copied as the link.
      e.link_target = std::filesystem::read_symlink(host).string();
      op.type = runner::FileOp::Type::kSymlink;
      op.link_target = e.link_target;
      op.dest = req_.parents ? match_dest : dest_is_dir_ ? Join(dest_, name) : dest_;
      out_.hashes[m] = EntryHash(e, "l");
    } else if (S_ISREG(st.st_mode)) {
      e.digest = cache_.FileDigest(host, st);
      op.context_path = m;
      if (is_add_ && IsTarArchive(host)) {
        op.type = runner::FileOp::Type::kArchive;
        op.dest = dest_;
        out_.hashes[m] = EntryHash(e, "a");
      } else {
        op.type = runner::FileOp::Type::kFile;
        if (req_.parents) {
          op.dest = match_dest;
        } else if (dest_is_dir_) {
          op.dest = Join(dest_, name);
        } else {
          op.dest = dest_;
          op.basename_if_dir = name;
        }
        out_.hashes[m] = EntryHash(e, "f");
      }
    } else {
      throw Error(Keyword() + " " + m + ": only regular files, directories and symlinks can be copied");
    }
    out_.plan.ops.push_back(op);
  }

  const CopyRequest& req_;
  const parser::Instruction& ins_;
  const BuildContext& context_;
  StatCache& cache_;
  CopySources& out_;
  bool is_add_;
  bool dest_is_dir_ = false;
  std::string dest_;
  std::optional<parser::PatternMatcher> excludes_;
  size_t next_heredoc_ = 0;
};

}  // namespace

std::string EntryHash(const ContextEntry& e, const char* kind) {
  std::string h = std::string(kind) + " " + std::to_string(e.st.st_mode & 07777);
  if (S_ISREG(e.st.st_mode)) h += " " + e.digest.str();
  if (S_ISLNK(e.st.st_mode)) h += " -> " + e.link_target;
  return h;
}

CopySources PlanCopyFromContext(const CopyRequest& req, const BuildContext& context, StatCache& cache) {
  CopySources out;
  out.plan.owner = req.chown;
  out.plan.chmod = ChmodOf(req);
  int cfd = open(context.root().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cfd < 0) throw SysError("cannot open build context " + context.root());
  out.context_dir = std::make_shared<runner::UniqueFd>(cfd);
  out.plan.context_fd = cfd;
  ContextCopyPlanner(req, context, cache, out).Plan();
  return out;
}

CopySources PlanCopyFromImage(const CopyRequest& req) {
  CopySources out;
  out.plan.owner = req.chown;
  out.plan.chmod = ChmodOf(req);
  out.plan.source_layers = req.from_layers;
  out.from_key = req.from_key;
  bool dest_is_dir = false;
  std::string dest = Destination(req, &dest_is_dir);
  std::vector<std::string> sources(req.args.begin(), req.args.end() - 1);
  if (sources.size() > 1 && !dest_is_dir)
    throw Error("COPY: when copying more than one source, the destination must be a directory and end with a /");
  for (const std::string& src : sources) {
    runner::FileOp op;
    op.type = runner::FileOp::Type::kFromImage;
    op.source_path = src.starts_with("/") ? src : "/" + src;
    op.dest = dest_is_dir ? dest + "/" : dest;
    out.plan.ops.push_back(op);
    out.hashes["from:" + src] = req.from_key;
  }
  return out;
}

}  // namespace bld::builder
