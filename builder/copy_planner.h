// COPY and ADD: from the instruction's expanded arguments to the FilePlan
// that carries them out and the hashes that make their cache key.
//
// Docker's rules: several sources (or a wildcard) need a destination
// directory ending in "/"; a relative destination is relative to WORKDIR; a
// source directory's contents are copied, not the directory; a file copied
// to an existing directory lands inside it; context files get uid/gid 0
// unless --chown; ADD unpacks local tar archives (plain, gzip, bzip2, xz,
// zstd) and downloads http(s) URLs (verified against --checksum). The hash
// of each source covers its path, type, mode, content sha256 and link
// target, never its times.
//
// Thread-safety: functions are independent; the StatCache locks.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "builder/build_context.h"
#include "builder/stat_cache.h"
#include "parser/instructions.h"
#include "parser/shell_lexer.h"
#include "runner/file_plan.h"
#include "runner/system_call.h"

namespace bld::builder {

struct CopyRequest {
  const parser::Instruction* instruction = nullptr;
  std::vector<std::string> args;  // expanded: sources..., destination
  parser::VarMap vars;            // for heredoc bodies
  char escape = '\\';
  std::string workdir;            // the image's WORKDIR
  std::string chown, chmod, checksum;  // expanded flag values ("" when absent)
  std::string scratch_dir;        // where ADD downloads go
  // COPY --from: the source image and its key.
  std::vector<runner::LayerRef> from_layers;
  std::string from_key;
};

struct CopySources {
  runner::FilePlan plan;
  std::map<std::string, std::string> hashes;  // source -> hash of what it contributes
  std::string from_key;
  std::vector<std::shared_ptr<runner::UniqueFd>> open_files;  // keeps plan's fds alive
  std::shared_ptr<runner::UniqueFd> context_dir;
};

CopySources PlanCopyFromContext(const CopyRequest& request, const BuildContext& context, StatCache& cache);
CopySources PlanCopyFromImage(const CopyRequest& request);

}  // namespace bld::builder
