// The files a build may read: a directory on the host, or a tar read from
// stdin and unpacked into a private directory first, filtered by the
// .dockerignore that applies to the build.
//
// Everything a COPY or ADD names is resolved inside the context root: `..`
// stops at the root and symlinks are followed as if the root were `/`, so a
// symlink in the context can never expose a host file. Inside a copied
// directory, symlinks are kept as symlinks and never followed.
//
// Thread-safety: const methods may be called from several threads.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "builder/stat_cache.h"
#include "parser/dockerignore.h"
#include "store/digest.h"

namespace bld::builder {

struct ContextEntry {
  std::string rel;          // relative to the walked source ("" for the source itself)
  std::string path;         // host path
  struct stat st {};
  std::string link_target;  // for symlinks
  store::Digest digest;     // content sha256, for regular files
};

class BuildContext {
 public:
  // A directory context. `dockerfile` is the Dockerfile's path (empty when it
  // comes from stdin), used to find `<Dockerfile>.dockerignore`.
  static std::unique_ptr<BuildContext> FromDirectory(const std::string& dir, const std::string& dockerfile);
  // A context tar (plain or compressed) read from `fd`, unpacked safely into
  // `scratch_dir` (created; removed when the context is destroyed).
  static std::unique_ptr<BuildContext> FromTar(int fd, const std::string& scratch_dir);
  ~BuildContext();

  const std::string& root() const { return root_; }

  // The context paths a COPY/ADD source names (after variable expansion):
  // the cleaned path with symlinks resolved inside the context, or for a
  // wildcard every match that .dockerignore keeps, sorted. Throws bld::Error
  // when nothing matches, unless `empty_wildcard` and the source is a
  // wildcard (COPY a.txt nomatch* /d/ copies a.txt).
  std::vector<std::string> Resolve(const std::string& source, bool empty_wildcard = false) const;

  // Calls fn for `rel` (a context path from Resolve) and, for a directory,
  // every entry below it that .dockerignore keeps, parents before children,
  // names in byte order. Regular files come with their content digest, from
  // `cache` when their stat is unchanged.
  void Walk(const std::string& rel, StatCache& cache, const std::function<void(const ContextEntry&)>& fn) const;

  // Whether .dockerignore leaves `rel` out of the context.
  bool Excluded(const std::string& rel) const;

  // Reads a small file of the context (e.g. the Dockerfile), resolved inside it.
  std::optional<std::string> ReadFile(const std::string& rel) const;

 private:
  BuildContext(std::string root, std::optional<parser::PatternMatcher> ignore, bool owned);
  // Resolves symlinks in `rel` inside the root; `follow_last` for the final
  // component. Returns the cleaned relative path ("" is the root).
  std::string ResolveInRoot(const std::string& rel, bool follow_last) const;
  void WalkDir(const std::string& ctx_rel, const std::string& rel, const parser::PatternMatcher::MatchInfo& info,
               StatCache& cache, const std::function<void(const ContextEntry&)>& fn, bool emit_self,
               const struct stat& self) const;
  parser::PatternMatcher::MatchInfo InfoFor(const std::string& ctx_rel) const;

  std::string root_;
  std::optional<parser::PatternMatcher> ignore_;
  bool owned_;  // root_ is a scratch directory to remove
};

// Cleans a slash path as Go's path.Clean does, relative: "/a/../b/" -> "b",
// "" or "/" -> "".
std::string CleanRelative(const std::string& path);

}  // namespace bld::builder
