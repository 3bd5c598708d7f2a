#include "runner/seccomp_cache.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "runner/system_call.h"
#include "store/digest.h"
#include "store/store.h"

namespace bld::runner {

namespace {

// Part of every key: a change to what CompileSeccompFilter makes of a plan
// must change this, so that no process loads a program an older bld made.
constexpr std::string_view kCacheFormat = "bld-seccomp-cache-v1";
constexpr size_t kDigestSize = 64;  // sha256 in hex
constexpr size_t kFlagsSize = sizeof(uint32_t);
// The kernel's limit on a program, plus the header.
constexpr size_t kMaxFileSize = kDigestSize + kFlagsSize + BPF_MAXINSNS * sizeof(sock_filter);
constexpr mode_t kCacheDirMode = 0700;
constexpr mode_t kCacheFileMode = 0600;

// Length-prefixed, so that no two plans hash the same bytes.
class PlanHasher {
 public:
  PlanHasher& Add(std::string_view field) {
    uint64_t size = field.size();
    hash_.Update(&size, sizeof size);
    hash_.Update(field);
    return *this;
  }
  PlanHasher& Add(uint64_t number) { return Add(std::to_string(number)); }
  std::string Finish() { return hash_.FinishHex(); }

 private:
  store::Sha256 hash_;
};

std::string LibseccompVersion() {
  const scmp_version* v = seccomp_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

std::string Encode(const SeccompProgram& program) {
  std::string body(kFlagsSize, '\0');
  uint32_t flags = program.flags;
  std::memcpy(body.data(), &flags, kFlagsSize);
  body += program.bpf;
  return std::string(store::Sha256::Of(body).hex()) + body;
}

// The program in `content`, or nothing when the file is not a whole one.
std::optional<SeccompProgram> Decode(const std::string& content) {
  if (content.size() <= kDigestSize + kFlagsSize) return std::nullopt;
  std::string_view body = std::string_view(content).substr(kDigestSize);
  if ((body.size() - kFlagsSize) % sizeof(sock_filter) != 0) return std::nullopt;
  if (store::Sha256::Of(body).hex() != std::string_view(content).substr(0, kDigestSize)) return std::nullopt;
  SeccompProgram program;
  uint32_t flags = 0;
  std::memcpy(&flags, body.data(), kFlagsSize);
  program.flags = flags;
  program.bpf = std::string(body.substr(kFlagsSize));
  return program;
}

// Writes the file under a temporary name and renames it into place. A cache
// that cannot be written only costs the next process a compile.
void WriteToCache(const std::string& dir, const std::string& key, const SeccompProgram& program) {
  if (::mkdir(dir.c_str(), kCacheDirMode) != 0 && errno != EEXIST) return;
  std::string temporary = dir + "/.tmp-XXXXXX";
  UniqueFd fd(::mkostemp(temporary.data(), O_CLOEXEC));
  if (!fd) return;
  try {
    WriteAll(fd.get(), Encode(program), "write " + temporary);
    CheckSys(::fchmod(fd.get(), kCacheFileMode), "set the mode of " + temporary);
    CheckSys(::rename(temporary.c_str(), (dir + "/" + key).c_str()), "rename " + temporary);
  } catch (const Error&) {
    ::unlink(temporary.c_str());
  }
}

}  // namespace

std::string SeccompCacheDir(const store::Store& store) { return store.root() + "/seccomp"; }

std::string SeccompCacheKey(const SeccompFilterPlan& plan) {
  PlanHasher h;
  h.Add(kCacheFormat).Add(LibseccompVersion());
  h.Add(static_cast<uint64_t>(plan.default_action)).Add(plan.default_errno_ret);
  h.Add(plan.architectures.size());
  for (const std::string& arch : plan.architectures) h.Add(arch);
  h.Add(plan.flags.size());
  for (const std::string& flag : plan.flags) h.Add(flag);
  h.Add(plan.rules.size());
  for (const SeccompFilterRule& rule : plan.rules) {
    h.Add(rule.names.size());
    for (const std::string& name : rule.names) h.Add(name);
    h.Add(static_cast<uint64_t>(rule.action)).Add(rule.errno_ret).Add(rule.args.size());
    for (const SeccompCondition& c : rule.args)
      h.Add(c.index).Add(static_cast<uint64_t>(c.op)).Add(c.value).Add(c.value_two);
  }
  return h.Finish();
}

SeccompProgram CompileSeccompFilterCached(const SeccompFilterPlan& plan, const std::string& cache_dir) {
  if (cache_dir.empty()) return CompileSeccompFilter(plan);
  std::string key = SeccompCacheKey(plan);
  std::string content;
  try {
    if (ReadRegularFile(cache_dir + "/" + key, kMaxFileSize, content))
      if (std::optional<SeccompProgram> program = Decode(content)) return *program;
  } catch (const Error&) {
    // Unreadable or too large: not a file this cache wrote; replaced below.
  }
  SeccompProgram program = CompileSeccompFilter(plan);
  WriteToCache(cache_dir, key, program);
  return program;
}

}  // namespace bld::runner
