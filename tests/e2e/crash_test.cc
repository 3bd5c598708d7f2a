// kill -9 at any point: `bld import`, `bld save` and `bld load` are killed
// with SIGKILL at random moments of their run, 50 times in all; after each
// kill `bld check` finds the store consistent and the next command works
// (docs/design.md: "a crash or kill -9 at any point leaves a store that the next
// command works with").
//
// The delays are drawn over each command's measured run time, so kills land
// everywhere from startup to the last write; runs that finish first do not
// count, so 50 kills land whatever the machine's load. The seed is printed
// with any failure to replay it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/busybox.h"
#include "support/process.h"

namespace fs = std::filesystem;
using bld::testing::ProcessResult;
using bld::testing::RunBld;
using bld::testing::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kKills = 50;
// Runs that may finish before their kill, in all, before the test gives up.
constexpr int kMaxAttempts = 4 * kKills;
// Makes the rootfs big enough (busybox alone is 2 MB) that each command runs
// for tens of milliseconds, a window wide enough to land kills in, and
// small enough for 50 rounds to stay under a minute.
constexpr size_t kPaddingBytes = 1 << 20;

// Runs bld with `args` and kills it with SIGKILL after `delay`, unless it
// finished before. Returns true if the kill landed.
bool RunAndKill(const std::vector<std::string>& args, std::chrono::microseconds delay) {
  pid_t pid = bld::testing::SpawnBld(args);
  std::this_thread::sleep_for(delay);
  bool killed = waitpid(pid, nullptr, WNOHANG) == 0 && kill(pid, SIGKILL) == 0;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return killed && WIFSIGNALED(status);
}

std::chrono::microseconds TimeOf(const std::vector<std::string>& args) {
  auto start = Clock::now();
  ProcessResult r = RunBld(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

}  // namespace

TEST_CASE("import, save and load killed at random points leave a store the next command works with") {
  TempDir dir;
  std::string root = dir / "store";
  std::string rootfs = dir / "rootfs";
  bld::testing::MakeBusyboxRootfs(rootfs);
  {
    std::ofstream padding(rootfs + "/padding", std::ios::binary);
    std::mt19937_64 bytes(1);
    for (size_t i = 0; i < kPaddingBytes / 8; ++i) {
      uint64_t v = bytes();
      padding.write(reinterpret_cast<const char*>(&v), sizeof v);
    }
  }
  std::string tarball = dir / "rootfs.tar";
  REQUIRE(bld::testing::RunProcess({"tar", "-C", rootfs, "-cf", tarball, "."}).exit_code == 0);
  std::string archive = dir / "saved.tar";
  std::string output = dir / "out.tar";

  auto bld = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--root", root});
    return args;
  };
  const std::vector<std::vector<std::string>> commands = {
      bld({"import", tarball, "victim"}),
      bld({"save", "-o", output, "base"}),
      bld({"load", "-i", archive}),
  };
  std::vector<std::chrono::microseconds> durations;
  durations.push_back(TimeOf(commands[0]));
  REQUIRE(RunBld(bld({"tag", "victim", "base"})).exit_code == 0);
  durations.push_back(TimeOf(commands[1]));
  REQUIRE(RunBld(bld({"save", "-o", archive, "base"})).exit_code == 0);
  durations.push_back(TimeOf(commands[2]));

  uint64_t seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  INFO("seed " << seed);
  std::mt19937_64 random(seed);
  int landed = 0;
  for (int i = 0; landed < kKills; ++i) {
    // A run that finishes before its kill counts for nothing; too many of
    // them and this would test nothing.
    REQUIRE(i < kMaxAttempts);
    size_t which = static_cast<size_t>(i) % commands.size();
    // A little past the measured time, so that some runs finish first.
    std::uniform_int_distribution<int64_t> delay(0, durations[which].count() * 6 / 5);
    fs::remove(output);
    if (RunAndKill(commands[which], std::chrono::microseconds(delay(random)))) {
      ++landed;
    } else {
      // The command ran faster than measured (the machine's load changed):
      // aim earlier from now on.
      durations[which] = durations[which] * 4 / 5;
    }
    INFO("attempt " << i << " of: " << commands[which][2]);

    ProcessResult check = RunBld(bld({"check"}));
    INFO(check.out << check.err);
    REQUIRE(check.exit_code == 0);
    // A killed save leaves its archive complete or absent, never truncated.
    if (which == 1 && fs::exists(output)) {
      TempDir other;
      REQUIRE(RunBld({"--root", other / "store", "load", "-i", output}).exit_code == 0);
    }
    std::string tag = "after:" + std::to_string(i);
    ProcessResult again = RunBld(bld({"import", tarball, tag}));
    INFO(again.err);
    REQUIRE(again.exit_code == 0);
    ProcessResult images = RunBld(bld({"images", "after"}));
    REQUIRE_THAT(images.out, Catch::Contains("after        " + std::to_string(i) + " "));
  }
  ProcessResult prune = RunBld(bld({"prune"}));
  REQUIRE(prune.exit_code == 0);
  ProcessResult check = RunBld(bld({"check"}));
  INFO(check.out);
  CHECK(check.exit_code == 0);
  CHECK_THAT(check.out, !Catch::Contains("unfinished writes"));
}

namespace {

// Big enough that compressing its layer takes a moment to land a kill in.
constexpr size_t kNoiseBytes = 32 << 20;
// How often the build is watched for its first blob write.
constexpr auto kPollInterval = std::chrono::milliseconds(1);
constexpr auto kBuildTimeout = std::chrono::seconds(120);

bool DirectoryHasEntries(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec) && !fs::is_empty(path, ec);
}

// Starts `args` and kills it with SIGKILL as soon as `root`'s ingest
// directory has a file in it (a blob being written). Returns true if the
// kill landed before the command ended.
bool KillAtFirstBlobWrite(const std::vector<std::string>& args, const std::string& root) {
  pid_t pid = bld::testing::SpawnBld(args);
  bool killed = false;
  for (auto start = Clock::now(); Clock::now() - start < kBuildTimeout;) {
    if (waitpid(pid, nullptr, WNOHANG) != 0) break;
    if (DirectoryHasEntries(root + "/ingest")) {
      killed = kill(pid, SIGKILL) == 0;
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return killed && WIFSIGNALED(status);
}

// A build context whose COPY layer takes a moment to compress, and the
// Dockerfile that copies it.
void WriteNoisyContext(const std::string& context) {
  bld::testing::WriteFile(context + "/Dockerfile", "FROM busybox\nCOPY noise /noise\nRUN echo after > /after\n");
  std::ofstream noise(context + "/noise", std::ios::binary);
  std::mt19937_64 bytes(7);
  for (size_t i = 0; i < kNoiseBytes / 8; ++i) {
    uint64_t v = bytes();
    noise.write(reinterpret_cast<const char*>(&v), sizeof v);
  }
}

// Imports the busybox tar `tar` (made if missing) into `root`.
void ImportBusybox(const std::string& tar, const std::string& root) {
  const std::map<std::string, std::string> epoch = {{"SOURCE_DATE_EPOCH", "0"}};
  if (!fs::exists(tar)) bld::testing::MakeBusyboxTar(tar);
  ProcessResult r = RunBld({"--root", root, "import", tar, "busybox"}, "", epoch);
  REQUIRE(r.exit_code == 0);
}

// `bld check` of `root` passes; with `clean`, no leftovers of a killed
// command are left either.
void CheckStore(const std::string& root, bool clean) {
  ProcessResult check = RunBld({"--root", root, "check"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
  if (clean) CHECK_THAT(check.out, !Catch::Contains("unfinished writes"));
}

// The manifest digest `name` points at.
std::string ManifestOf(const std::string& root, const std::string& name) {
  ProcessResult r = RunBld({"--root", root, "images", "--digests", "--no-trunc", name});
  REQUIRE(r.exit_code == 0);
  size_t at = r.out.find("sha256:");
  REQUIRE(at != std::string::npos);
  return r.out.substr(at, 71);
}

// What a build of `context` that was never interrupted and wrote its blobs
// itself (an archive output) gives in a fresh store: the printed image ID
// and the manifest "victim" points at.
struct Reference {
  std::string id, manifest;
};
Reference EagerBuild(const std::string& busybox_tar, const std::string& context) {
  TempDir eager;
  std::string root = eager / "store";
  ImportBusybox(busybox_tar, root);
  ProcessResult built = RunBld({"--root", root, "build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=0", "-t", "victim",
                                "-o", "type=oci,dest=" + (eager / "out.tar"), context});
  REQUIRE(built.exit_code == 0);
  return {built.out, ManifestOf(root, "victim")};
}

}  // namespace

TEST_CASE("a build killed between a layer's diff and its blob leaves a store that check accepts and the next build finishes") {
  TempDir dir;
  std::string root = dir / "store";
  std::string context = dir / "context";
  ImportBusybox(dir / "busybox.tar", root);
  WriteNoisyContext(context);
  // An archive output makes the build write its layers' blobs itself.
  const std::vector<std::string> build = {"--root", root, "build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=0",
                                          "-t", "victim", "-o", "type=oci,dest=" + (dir / "out.tar"), context};

  // The first blob a build writes is the compressed COPY layer, whose
  // snapshot is in place by then.
  REQUIRE(KillAtFirstBlobWrite(build, root));
  CHECK_THAT(RunBld({"--root", root, "images"}).out, !Catch::Contains("victim"));
  ProcessResult check = RunBld({"--root", root, "check"});
  INFO(check.out << check.err);
  REQUIRE(check.exit_code == 0);

  ProcessResult again = RunBld(build);
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CheckStore(root, true);

  // The same image a build that was never interrupted makes.
  Reference reference = EagerBuild(dir / "busybox.tar", context);
  CHECK(again.out == reference.id);
  CHECK(ManifestOf(root, "victim") == reference.manifest);
}

TEST_CASE("a save killed while it writes a lazy image's blobs leaves the image whole; the next save completes it") {
  TempDir dir;
  std::string root = dir / "store";
  std::string context = dir / "context";
  ImportBusybox(dir / "busybox.tar", root);
  WriteNoisyContext(context);
  // No push and no archive output: the built image's layers stay lazy.
  ProcessResult built =
      RunBld({"--root", root, "build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=0", "-t", "victim", context});
  REQUIRE(built.exit_code == 0);
  REQUIRE(fs::is_empty(root + "/ingest"));
  const std::vector<std::string> save = {"--root", root, "save", "-o", dir / "victim.tar", "victim"};

  // The first blob the save writes is the compressed COPY layer.
  REQUIRE(KillAtFirstBlobWrite(save, root));
  CheckStore(root, false);
  ProcessResult run = RunBld({"--root", root, "run", "--rm", "--net", "none", "victim", "cat", "/after"});
  INFO(run.err);
  CHECK(run.out == "after\n");

  ProcessResult again = RunBld(save);
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CheckStore(root, true);
  CHECK(RunBld({"--root", root, "images", "-q", "--no-trunc", "victim"}).out == built.out);

  // The image a build that wrote its blobs itself makes, same manifest.
  Reference reference = EagerBuild(dir / "busybox.tar", context);
  CHECK(reference.id == built.out);
  CHECK(ManifestOf(root, "victim") == reference.manifest);
}
