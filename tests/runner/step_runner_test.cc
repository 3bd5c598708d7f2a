// RunStep end to end: real containers on a busybox image, as root.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "runner/capabilities.h"
#include "runner/snapshotter.h"
#include "runner/upper_dir_layer.h"
#include "runner_test_support.h"
#include "support/isolation.h"
#include "support/process.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;
using runner::NetworkMode;
using runner::RunConfig;

// Paths the runner mounts or generates: none may ever appear in a layer.
const char* const kRunnerPaths[] = {"proc", "sys", "dev", "etc/hosts", "etc/hostname", "etc/resolv.conf"};

void AddDiffFixtures(const std::string& rootfs) {
  WriteFile(rootfs + "/data/keep", "keep\n");
  WriteFile(rootfs + "/data/change", "old\n");
  WriteFile(rootfs + "/data/remove", "bye\n");
  WriteFile(rootfs + "/replace/old1", "1\n");
  WriteFile(rootfs + "/replace/sub/old2", "2\n");
}

constexpr const char* kDiffScript =
    "echo added > /data/added && echo changed > /data/change && rm /data/remove && "
    "rm -rf /replace && mkdir /replace && touch /replace/new";

TEST_CASE("a RUN that adds, changes and deletes files and replaces a directory makes the layer of exactly that") {
  RunnerFixture fixture(AddDiffFixtures);
  RunnerFixture::Run run = fixture.Sh(kDiffScript);
  REQUIRE(run.result.status.ok());
  REQUIRE(run.result.layer);
  CHECK(LayerEntryNames(fixture.store(), run.blob) ==
        std::set<std::string>{"data", "data/.wh.remove", "data/added", "data/change", "replace", "replace/.wh..wh..opq",
                              "replace/new"});
}

TEST_CASE("the base layer plus a RUN's layer unpack to the tree the command made") {
  RunnerFixture fixture(AddDiffFixtures);
  RunnerFixture::Run run = fixture.Sh(kDiffScript);
  REQUIRE(run.result.layer);

  // The same script run by hand on a copy of the base root filesystem.
  TempDir expected;
  REQUIRE(RunProcess({"cp", "-a", fixture.base_rootfs() + "/.", expected.path()}).exit_code == 0);
  REQUIRE(RunProcess({"chroot", expected.path(), "/bin/sh", "-c", kDiffScript}).exit_code == 0);

  TempDir unpacked;
  ApplyLayers(fixture.store(), {fixture.base(), {run.result.layer->diff_id, run.blob}},
              unpacked.path());
  CHECK(DescribeTree(unpacked.path()) == DescribeTree(expected.path()));
}

TEST_CASE("a RUN's layer is its snapshot, named by its diffID, with no blob until one is written from it") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("echo hi > /hello");
  REQUIRE(run.result.layer);
  const store::LayerInfo& layer = *run.result.layer;
  CHECK(layer.digest == layer.diff_id);
  CHECK(layer.media_type == store::kMediaTypeLayerTar);
  store::Digest chain_id = runner::Snapshotter::ChainIds({fixture.base().diff_id, layer.diff_id}).back();
  CHECK(runner::Snapshotter::Exists(fixture.store(), chain_id));
  CHECK_FALSE(fixture.store().blobs().Exists(layer.digest));

  store::LayerInfo blob = runner::StoreSnapshotBlob(fixture.store(), chain_id, layer.diff_id, {});
  CHECK(blob.diff_id == layer.diff_id);
  CHECK(blob.uncompressed_size == layer.uncompressed_size);
  CHECK(fixture.store().blobs().Verify(blob.digest));
  CHECK(fixture.store().DiffIdOf(blob.digest) == layer.diff_id);
  std::optional<store::Descriptor> record = fixture.store().BlobRecord(blob.digest);
  REQUIRE(record);
  CHECK(record->media_type == store::kMediaTypeLayerGzip);
  CHECK(record->size == static_cast<int64_t>(blob.compressed_size));
}

TEST_CASE("a snapshot whose tree no longer gives the recorded diffID writes no blob") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("echo hi > /hello");
  REQUIRE(run.result.layer);
  store::Digest chain_id = runner::Snapshotter::ChainIds({fixture.base().diff_id, run.result.layer->diff_id}).back();
  bld::testing::WriteFile(runner::Snapshotter(fixture.store()).Path(chain_id) + "/extra", "tampered\n");
  CHECK_THROWS_WITH(runner::StoreSnapshotBlob(fixture.store(), chain_id, run.result.layer->diff_id, {}),
                    Catch::Contains("not " + run.result.layer->diff_id.str() + " as recorded"));
  CHECK(fixture.store().BlobsWithDiffId(run.result.layer->diff_id).size() == 1);  // run.blob, from before
}

TEST_CASE("a RUN that changes nothing adds no layer") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("cat /etc/passwd > /dev/null; ls / > /dev/null");
  CHECK(run.result.status.ok());
  CHECK_FALSE(run.result.layer);
}

TEST_CASE("mount points and generated files never leak into a layer") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh(
      "echo 10.1.2.3 extra >> /etc/hosts && echo nameserver 10.9.9.9 >> /etc/resolv.conf && "
      "echo other > /etc/hostname && echo x > /etc/newfile && echo y > /dev/shm/z && touch /tmp/t && "
      "ls /proc /sys /dev > /dev/null");
  REQUIRE(run.result.status.ok());
  REQUIRE(run.result.layer);
  std::set<std::string> names = LayerEntryNames(fixture.store(), run.blob);
  CHECK(names == std::set<std::string>{"etc", "etc/newfile", "tmp", "tmp/t"});
  for (const char* path : kRunnerPaths) CHECK(names.count(path) == 0);
}

TEST_CASE("a directory the container writes into keeps the image's mode and owner in the layer") {
  RunnerFixture fixture([](const std::string& rootfs) {
    REQUIRE(::chmod((rootfs + "/etc").c_str(), 0750) == 0);
    REQUIRE(::chown((rootfs + "/etc").c_str(), 0, 1001) == 0);
  });
  RunnerFixture::Run run = fixture.Sh("stat -c '%a %u:%g' /etc && touch /etc/newfile");
  REQUIRE(run.result.layer);
  CHECK(run.output == "750 0:1001\n");
  ProcessResult listing = RunProcess({"tar", "-tvf", fixture.store().blobs().Path(run.blob)});
  CHECK_THAT(listing.out, Catch::Contains("drwxr-x--- 0/1001"));
}

TEST_CASE("the command is PID 1 of its own namespace and sees no host process") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("echo pid=$$; ls /proc | grep -E '^[0-9]+$'");
  REQUIRE(run.result.status.ok());
  std::vector<std::string> lines = Lines(run.output);
  REQUIRE(!lines.empty());
  CHECK(lines[0] == "pid=1");
  // The shell, ls and grep: nothing else lives in the namespace.
  for (size_t i = 1; i < lines.size(); ++i) CHECK(std::stoi(lines[i]) <= 3);
}

TEST_CASE("the container has its own hostname, in /etc/hostname and /etc/hosts too") {
  RunnerFixture fixture;
  RunConfig config;
  config.hostname = "buildbox";
  RunnerFixture::Run run = fixture.Sh("hostname; cat /etc/hostname; grep -c 'localhost buildbox' /etc/hosts", config);
  CHECK(run.output == "buildbox\nbuildbox\n1\n");
}

TEST_CASE("without a hostname the container is named by its ID's short form") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("hostname");
  std::string name = Lines(run.output).at(0);
  CHECK(name.size() == 12);
  CHECK(name.find_first_not_of("0123456789abcdef") == std::string::npos);
}

TEST_CASE("root in the container has exactly Docker's default capabilities") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("grep ^Cap /proc/self/status");
  CHECK(runner::kDefaultCapabilities == 0x00000000a80425fbULL);
  CHECK(run.output ==
        "CapInh:\t0000000000000000\n"
        "CapPrm:\t00000000a80425fb\n"
        "CapEff:\t00000000a80425fb\n"
        "CapBnd:\t00000000a80425fb\n"
        "CapAmb:\t0000000000000000\n");
}

TEST_CASE("a non-root user has no capabilities but Docker's bounding set") {
  RunnerFixture fixture;
  RunConfig config;
  config.user = "app";
  RunnerFixture::Run run = fixture.Sh("grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status", config);
  CHECK(run.output ==
        "CapPrm:\t0000000000000000\n"
        "CapEff:\t0000000000000000\n"
        "CapBnd:\t00000000a80425fb\n");
}

TEST_CASE("network none has only lo, and it is up") {
  RunnerFixture fixture;
  RunConfig config;
  config.network = NetworkMode::kNone;
  RunnerFixture::Run run = fixture.Sh(
      "ls /sys/class/net; cat /sys/class/net/lo/flags; ping -c1 -W2 127.0.0.1 >/dev/null && echo ping", config);
  // IFF_UP | IFF_LOOPBACK.
  CHECK(run.output == "lo\n0x9\nping\n");
}

TEST_CASE("network host shares the host's interfaces") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("ls /sys/class/net");
  CHECK(run.output == RunShell("ls /sys/class/net").out);
}

TEST_CASE("/sys is read-only and the kernel's sensitive files are masked or read-only") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh(
      "{ touch /sys/x; } 2>/dev/null || echo sys-ro; "
      "{ echo 1 > /proc/sys/vm/drop_caches; } 2>/dev/null || echo procsys-ro; "
      "wc -c < /proc/keys; ls /sys/firmware | wc -l");
  CHECK(run.output == "sys-ro\nprocsys-ro\n0\n0\n");
}

TEST_CASE("/dev holds the standard devices and a private devpts") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh(
      "ls /dev | tr '\\n' ' '; echo; readlink /dev/ptmx; readlink /dev/fd; "
      "head -c 4 /dev/zero | wc -c; ls /dev/pts");
  CHECK(run.output ==
        "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero \n"
        "pts/ptmx\n/proc/self/fd\n4\nptmx\n");
}

TEST_CASE("USER by name sets uid, gid, supplementary groups and HOME from the image") {
  RunnerFixture fixture;
  RunConfig config;
  config.user = "app";
  RunnerFixture::Run run = fixture.Sh("id; echo $HOME", config);
  CHECK(run.output == "uid=1000(app) gid=1000(app) groups=1001(extra)\n/home/app\n");
}

TEST_CASE("USER by uid finds the user's groups in the image") {
  RunnerFixture fixture;
  RunConfig config;
  config.user = "1000";
  RunnerFixture::Run run = fixture.Sh("id", config);
  CHECK(run.output == "uid=1000(app) gid=1000(app) groups=1001(extra)\n");
}

TEST_CASE("USER uid:gid sets that group and no supplementary ones") {
  RunnerFixture fixture;
  RunConfig config;
  config.user = "1000:1001";
  RunnerFixture::Run run = fixture.Sh("id", config);
  CHECK(run.output == "uid=1000(app) gid=1001(extra)\n");
}

TEST_CASE("USER with a uid the image does not list runs with gid 0 and HOME /") {
  RunnerFixture fixture;
  RunConfig config;
  config.user = "4242";
  RunnerFixture::Run run = fixture.Sh("id -u; id -g; echo $HOME", config);
  CHECK(run.output == "4242\n0\n/\n");
}

TEST_CASE("USER with a name the image does not know fails with Docker's message") {
  RunnerFixture fixture;
  RunConfig config;
  config.user = "foo";
  CHECK_THROWS_WITH(fixture.Sh("true", config),
                    Catch::Equals("unable to find user foo: no matching entries in passwd file"));
}

TEST_CASE("WORKDIR is the working directory and is created when missing") {
  RunnerFixture fixture;
  RunConfig config;
  config.workdir = "/srv/app";
  config.user = "app";
  RunnerFixture::Run run = fixture.Sh("pwd; stat -c '%a %u' /srv/app", config);
  CHECK(run.output == "/srv/app\n755 0\n");
  REQUIRE(run.result.layer);
  CHECK(LayerEntryNames(fixture.store(), run.blob) == std::set<std::string>{"srv", "srv/app"});
}

TEST_CASE("a WORKDIR that is a file names the step that failed") {
  RunnerFixture fixture;
  RunConfig config;
  config.workdir = "/etc/passwd";
  CHECK_THROWS_WITH(fixture.Sh("true", config), Catch::Contains("runner: use /etc/passwd as the working directory"));
}

TEST_CASE("env is the config's, with Docker's default PATH and the user's HOME added") {
  RunnerFixture fixture;
  RunConfig config;
  config.env = {"FOO=bar baz"};
  RunnerFixture::Run run = fixture.Sh("echo \"$FOO|$PATH|$HOME\"; env | sort | cut -d= -f1 | tr '\\n' ' '", config);
  CHECK(run.output ==
        "bar baz|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root\n"
        "FOO HOME PATH PWD SHLVL \n");
}

TEST_CASE("an image's PATH replaces the default and is used to find the command") {
  RunnerFixture fixture([](const std::string& rootfs) {
    WriteFile(rootfs + "/opt/tools/hello", "#!/bin/sh\necho hello from tools\n");
    REQUIRE(::chmod((rootfs + "/opt/tools/hello").c_str(), 0755) == 0);
  });
  runner::StepSpec spec;
  spec.layers = {fixture.base()};
  spec.run.argv = {"hello"};
  spec.run.env = {"PATH=/opt/tools:/bin"};
  std::string output;
  runner::StepResult result =
      runner::RunStep(fixture.store(), spec, [&](std::string_view line) { output += std::string(line) + "\n"; });
  CHECK(result.status.ok());
  CHECK(output == "hello from tools\n");
}

TEST_CASE("a command that is not in PATH is an error, not an exit code") {
  RunnerFixture fixture;
  runner::StepSpec spec;
  spec.layers = {fixture.base()};
  spec.run.argv = {"no-such-tool"};
  CHECK_THROWS_WITH(runner::RunStep(fixture.store(), spec, {}),
                    Catch::Equals("exec: \"no-such-tool\": executable file not found in $PATH"));
}

TEST_CASE("a failing command returns its exit code and last output lines, and no layer") {
  RunnerFixture fixture;
  runner::StepSpec spec;
  spec.layers = {fixture.base()};
  spec.run.argv = {"/bin/sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; touch /x; exit 3"};
  spec.output_tail_lines = 3;
  runner::StepResult result = runner::RunStep(fixture.store(), spec, {});
  CHECK(result.status.code == 3);
  CHECK(result.status.Describe() == "exit code 3");
  CHECK(result.output_tail == std::vector<std::string>{"line 4", "line 5", "oops"});
  CHECK_FALSE(result.layer);
}

TEST_CASE("output without a final newline still arrives as a line") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("printf 'a\\nb'");
  CHECK(run.output == "a\nb\n");
}

TEST_CASE("stdin is /dev/null") {
  RunnerFixture fixture;
  RunnerFixture::Run run = fixture.Sh("cat; readlink /proc/self/fd/0");
  CHECK(run.output == "/dev/null\n");
}

TEST_CASE("a background process left behind is killed and the step returns promptly") {
  RunnerFixture fixture;
  auto start = std::chrono::steady_clock::now();
  // The PID namespace (named the same inside and out) is the container's
  // own: its processes are found there, not by name across the machine.
  RunnerFixture::Run run = fixture.Sh("sleep 987123 & echo started; readlink /proc/self/ns/pid");
  auto elapsed = std::chrono::steady_clock::now() - start;
  std::vector<std::string> lines = Lines(run.output);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "started");
  CHECK(elapsed < std::chrono::seconds(10));
  REQUIRE(lines[1].starts_with("pid:["));
  CHECK(ProcessesInPidNamespace(lines[1]).empty());
}

TEST_CASE("the container directory is removed after every step, failed or not") {
  RunnerFixture fixture;
  fixture.Sh("echo hi > /a");
  fixture.Sh("exit 1");
  RunConfig config;
  config.user = "nobody-here";
  CHECK_THROWS(fixture.Sh("true", config));
  CHECK(fs::is_empty(fixture.store().containers_dir()));
}

TEST_CASE("a step runs on the layers of earlier steps") {
  RunnerFixture fixture;
  RunnerFixture::Run first = fixture.Sh("echo one > /f && mkdir /d && echo two > /d/g");
  REQUIRE(first.result.layer);
  runner::LayerRef layer{first.result.layer->diff_id, first.result.layer->digest};
  RunnerFixture::Run second = fixture.Sh("cat /f /d/g && rm /f", {}, {layer});
  CHECK(second.output == "one\ntwo\n");
  REQUIRE(second.result.layer);
  CHECK(LayerEntryNames(fixture.store(), second.blob) == std::set<std::string>{".wh.f"});
}

}  // namespace
}  // namespace bld::testing
