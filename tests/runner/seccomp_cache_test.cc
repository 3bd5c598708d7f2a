// Compiled seccomp filters kept across processes: a later compile of the
// same plan reads the file, a damaged file is compiled again, and plans
// that differ never share a file.
#include "runner/seccomp_cache.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include "runner/capabilities.h"
#include "store/digest.h"
#include "support/process.h"

namespace bld::runner {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

SeccompFilterPlan DefaultPlan(uint64_t capabilities = kDefaultCapabilities) {
  return PlanSeccompFilter(DefaultSeccompProfile(), capabilities, CurrentSeccompHost());
}

// A cache file as seccomp_cache.h describes it.
std::string CacheFile(unsigned flags, const std::string& bpf) {
  std::string body(sizeof(uint32_t), '\0');
  uint32_t flags32 = flags;
  std::memcpy(body.data(), &flags32, sizeof flags32);
  body += bpf;
  return std::string(store::Sha256::Of(body).hex()) + body;
}

TEST_CASE("a compiled filter is kept in the cache directory and read by the next compile of the plan") {
  TempDir dir;
  SeccompFilterPlan plan = DefaultPlan();
  std::string file = dir / ("seccomp/" + SeccompCacheKey(plan));
  SeccompProgram compiled = CompileSeccompFilterCached(plan, dir / "seccomp");
  CHECK(compiled == CompileSeccompFilter(plan));
  REQUIRE(std::filesystem::exists(file));
  CHECK(ReadFile(file) == CacheFile(compiled.flags, compiled.bpf));
  // One BPF instruction, "return allow": what the file says is what is used.
  const std::string allow("\x06\x00\x00\x00\x00\x00\xff\x7f", 8);
  WriteFile(file, CacheFile(0, allow));
  CHECK(CompileSeccompFilterCached(plan, dir / "seccomp") == SeccompProgram{allow, 0});
}

TEST_CASE("a cache file that does not match its hash is compiled again and replaced") {
  TempDir dir;
  SeccompFilterPlan plan = DefaultPlan();
  std::string file = dir / ("seccomp/" + SeccompCacheKey(plan));
  SeccompProgram compiled = CompileSeccompFilterCached(plan, dir / "seccomp");
  std::string damaged = ReadFile(file);
  damaged[damaged.size() - 3] ^= 0x01;
  WriteFile(file, damaged);
  CHECK(CompileSeccompFilterCached(plan, dir / "seccomp") == compiled);
  CHECK(ReadFile(file) == CacheFile(compiled.flags, compiled.bpf));
  WriteFile(file, "short");
  CHECK(CompileSeccompFilterCached(plan, dir / "seccomp") == compiled);
}

TEST_CASE("plans that differ have different cache keys") {
  SeccompFilterPlan plan = DefaultPlan();
  CHECK(SeccompCacheKey(plan) == SeccompCacheKey(DefaultPlan()));
  CHECK(SeccompCacheKey(plan) != SeccompCacheKey(DefaultPlan(kDefaultCapabilities | CapabilityBit(CAP_SYS_ADMIN))));
  SeccompFilterPlan other = plan;
  other.rules.back().errno_ret += 1;
  CHECK(SeccompCacheKey(other) != SeccompCacheKey(plan));
  other = plan;
  other.rules.back().names.back() += "x";
  CHECK(SeccompCacheKey(other) != SeccompCacheKey(plan));
}

TEST_CASE("a cache directory that cannot be made only costs a compile") {
  TempDir dir;
  WriteFile(dir / "file", "");
  SeccompFilterPlan plan = DefaultPlan();
  CHECK(CompileSeccompFilterCached(plan, dir / "file/seccomp") == CompileSeccompFilter(plan));
}

}  // namespace
}  // namespace bld::runner
