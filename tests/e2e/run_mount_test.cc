// RUN --mount, --network and --device through the real binary, on the
// busybox test base: what each mount shows the step, and that nothing of it
// reaches a layer, the history or the output.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>
#include <thread>

#include "registry/image_lookup.h"
#include "store/digest.h"
#include "store/image.h"
#include "support/process.h"
#include "support/test_images.h"

using bld::testing::ProcessResult;
using bld::testing::ReadFile;
using bld::testing::RunBld;
using bld::testing::RunProcess;
using bld::testing::TempDir;
using bld::testing::WriteFile;

namespace {

namespace fs = std::filesystem;

struct Env {
  TempDir root;
  TempDir context;
  TempDir out;
  Env() {
    auto store = bld::store::Store::Open(root.path());
    bld::testing::MakeBusyboxImage(*store);
  }
  ProcessResult Bld(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"--root", root.path()});
    return RunBld(args, "", env);
  }
  // Builds the context with plain progress (output lines stay readable).
  ProcessResult Build(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
    args.insert(args.begin(), {"build", "--progress", "plain"});
    args.push_back(context.path());
    return Bld(args, env);
  }
  bld::store::Image Image(const std::string& name) {
    auto store = bld::store::Store::Open(root.path());
    std::optional<bld::store::Descriptor> d = bld::registry::FindLocalImage(*store, name);
    REQUIRE(d);
    return bld::store::ReadImage(*store, *d);
  }
  std::string LayerPath(const bld::store::Descriptor& layer) {
    return root.path() + "/blobs/sha256/" + std::string(layer.digest.hex());
  }
  // Every entry of every layer the image's build added (the base's first
  // layer left out), as tar lists them.
  std::string BuiltEntries(const std::string& name) {
    // A save writes the blobs of a built image's layers (store/lazy_layer.h).
    ProcessResult saved = Bld({"save", "-o", out.path() + "/saved.tar", name});
    INFO(saved.err);
    REQUIRE(saved.exit_code == 0);
    bld::store::Image image = Image(name);
    std::string all;
    for (size_t i = 1; i < image.manifest.layers.size(); ++i)
      all += RunProcess({"tar", "-tzf", LayerPath(image.manifest.layers[i])}).out;
    return all;
  }
};

void Require(const ProcessResult& r) {
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

bool HasLine(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l == line) return true;
  return false;
}

}  // namespace

TEST_CASE("a cache mount keeps what one build downloaded for the next") {
  Env env;
  // The "download" happens only when the cache does not have the package.
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nARG BUILD=1\n"
            "RUN --mount=type=cache,target=/var/cache/pkgs sh -c 'if [ -f /var/cache/pkgs/tool.pkg ]; "
            "then echo reused-$BUILD; else echo downloaded-$BUILD; echo tool > /var/cache/pkgs/tool.pkg; fi; "
            "cp /var/cache/pkgs/tool.pkg /installed'\n");
  ProcessResult first = env.Build({"-t", "one", "--build-arg", "BUILD=1"});
  Require(first);
  CHECK_THAT(first.err, Catch::Contains("downloaded-1"));
  ProcessResult second = env.Build({"-t", "two", "--build-arg", "BUILD=2"});
  Require(second);
  CHECK_THAT(second.err, Catch::Contains("reused-2"));
  std::string entries = env.BuiltEntries("two");
  CHECK(HasLine(entries, "installed"));
  CHECK_THAT(entries, !Catch::Contains("var/"));
  ProcessResult ls = env.Bld({"cache", "ls"});
  Require(ls);
  CHECK_THAT(ls.out, Catch::Contains("/var/cache/pkgs"));
}

TEST_CASE("cache mounts are listed, removed by id and pruned") {
  Env env;
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nRUN --mount=type=cache,id=apt,target=/c --mount=type=cache,id=npm,target=/d "
            "sh -c 'echo a > /c/a; echo d > /d/d'\n");
  Require(env.Build({}));
  CHECK(env.Bld({"cache", "ls", "-q"}).out == "apt\nnpm\n");
  ProcessResult rm = env.Bld({"cache", "rm", "apt"});
  Require(rm);
  CHECK(env.Bld({"cache", "ls", "-q"}).out == "npm\n");
  CHECK(env.Bld({"cache", "rm", "apt"}).exit_code == 1);
  ProcessResult prune = env.Bld({"prune", "--cache"});
  Require(prune);
  CHECK_THAT(prune.out, Catch::Contains("Deleted cache mounts:\nnpm\n"));
  CHECK(env.Bld({"cache", "ls", "-q"}).out.empty());
}

TEST_CASE("two builds at once take turns on a locked cache") {
  Env env;
  // Each step writes its start and end around a pause; taking turns, the
  // two never interleave.
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nARG N\n"
            "RUN --mount=type=cache,id=shared-cache,target=/c,sharing=locked "
            "sh -c 'echo start-$N >> /c/log; sleep 1; echo end-$N >> /c/log'\n");
  // The cache exists before the two start: the build that makes a cache
  // holds it alone whatever its sharing mode.
  Require(env.Build({"--build-arg", "N=seed"}));
  ProcessResult a, b;
  std::thread first([&] { a = env.Build({"--build-arg", "N=a"}); });
  std::thread second([&] { b = env.Build({"--build-arg", "N=b"}); });
  first.join();
  second.join();
  Require(a);
  Require(b);
  std::string log = ReadFile(env.root.path() + "/cache-mounts/" +
                             std::string(bld::store::Sha256::Of("shared-cache").hex()) + "/0/log");
  const std::string seed = "start-seed\nend-seed\n";
  CHECK((log == seed + "start-a\nend-a\nstart-b\nend-b\n" || log == seed + "start-b\nend-b\nstart-a\nend-a\n"));
}

TEST_CASE("a secret is seen by its step and found in no layer, history, inspect output or progress") {
  Env env;
  const std::string value = "s3cr3t-V4lue-0f-the-test";
  // The step compares what it sees with the value's digest, so that the
  // value itself reaches the build only as a secret.
  const std::string digest(bld::store::Sha256::Of(value).hex());
  WriteFile(env.root / "token.txt", value);
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nARG DIGEST\n"
            "RUN --mount=type=secret,id=token,required sh -c '[ \"$(sha256sum < /run/secrets/token | cut -d\" \" -f1)\" = "
            "\"$DIGEST\" ] && stat -c \"%a %u\" /run/secrets/token > /secret-mode && echo seen-file'\n"
            "RUN --mount=type=secret,id=api,env=API_KEY,required sh -c '[ \"$(printf %s \"$API_KEY\" | sha256sum | cut "
            "-d\" \" -f1)\" = \"$DIGEST\" ] && echo seen-env'\n");
  ProcessResult r = env.Build({"-t", "secretive", "--build-arg", "DIGEST=" + digest, "--secret",
                               "id=token,src=" + (env.root / "token.txt"), "--secret", "id=api,env=TEST_API_KEY"},
                              {{"TEST_API_KEY", value}});
  Require(r);
  CHECK_THAT(r.err, Catch::Contains("seen-file"));
  CHECK_THAT(r.err, Catch::Contains("seen-env"));
  CHECK(r.err.find(value) == std::string::npos);
  CHECK(r.out.find(value) == std::string::npos);
  std::string entries = env.BuiltEntries("secretive");
  CHECK(entries == "secret-mode\n");
  std::string mode = RunProcess({"tar", "-xzOf", env.LayerPath(env.Image("secretive").manifest.layers[1]),
                                 "secret-mode"}).out;
  CHECK(mode == "400 0\n");

  // No file of the store holds it (its cache records and metadata among
  // them), but the file it came from.
  CHECK(RunProcess({"grep", "-rlF", "--exclude=token.txt", value, env.root.path()}).out.empty());

  // No file of the saved image holds it, layers decompressed.
  std::string saved = env.root / "saved.tar";
  Require(env.Bld({"save", "-o", saved, "secretive"}));
  TempDir unpacked;
  Require(RunProcess({"tar", "-xf", saved, "-C", unpacked.path()}));
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(unpacked.path())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::string content = RunProcess({"sh", "-c", "gzip -dc \"$0\" 2>/dev/null || cat \"$0\"", entry.path()}).out;
    INFO(entry.path());
    CHECK(content.find(value) == std::string::npos);
  }
  CHECK(files > 0);
  CHECK(env.Bld({"history", "--no-trunc", "secretive"}).out.find(value) == std::string::npos);
  CHECK(env.Bld({"inspect", "secretive"}).out.find(value) == std::string::npos);
}

TEST_CASE("a required secret that was not given fails at its line") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN --mount=type=secret,id=npmrc,required cat /run/secrets/npmrc\n");
  ProcessResult r = env.Build({});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("Dockerfile:2"));
  CHECK_THAT(r.err, Catch::Contains("the required secret \"npmrc\" was not given"));
}

TEST_CASE("an optional secret that was not given is simply not there") {
  Env env;
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nRUN --mount=type=secret,id=npmrc sh -c 'test ! -e /run/secrets/npmrc && echo absent'\n");
  ProcessResult r = env.Build({});
  Require(r);
  CHECK_THAT(r.err, Catch::Contains("absent"));
}

TEST_CASE("tmpfs writes are not in the layer") {
  Env env;
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nRUN --mount=type=tmpfs,target=/scratch,size=1m sh -c 'echo big > /scratch/tmp-file && "
            "grep -q \" /scratch tmpfs \" /proc/mounts && echo kept > /kept'\n");
  Require(env.Build({"-t", "tmpfs"}));
  std::string entries = env.BuiltEntries("tmpfs");
  CHECK(entries == "kept\n");
}

TEST_CASE("a bind mount from another stage shows its files read-only and leaves no trace") {
  Env env;
  WriteFile(env.context / "Dockerfile",
            "FROM busybox AS build\nRUN mkdir /out && echo artifact > /out/app\n"
            "FROM busybox\nWORKDIR /work\n"
            "RUN --mount=from=build,source=/out,target=/in sh -c 'cp /in/app /app && ! touch /in/other'\n"
            "RUN --mount=from=build,source=/out cat /work/app > /from-workdir\n"
            "RUN --mount=from=build,source=/out,target=/rw,rw sh -c 'echo scribble > /rw/app && cat /rw/app'\n"
            "RUN --mount=from=build,source=/out,target=/again sh -c 'echo after-$(cat /again/app)'\n");
  ProcessResult r = env.Build({"-t", "bound"});
  Require(r);
  CHECK_THAT(r.err, Catch::Contains("scribble"));
  std::string entries = env.BuiltEntries("bound");
  CHECK(HasLine(entries, "app"));
  CHECK(HasLine(entries, "from-workdir"));
  CHECK_THAT(entries, !Catch::Contains("in/"));
  CHECK_THAT(entries, !Catch::Contains("rw/"));
  CHECK_THAT(entries, !Catch::Contains("work/app"));
  // The rw bind's write went nowhere: the stage still has its artifact.
  CHECK_THAT(r.err, Catch::Contains("after-artifact"));
}

TEST_CASE("a bind mount of the context is part of the step's key and honours .dockerignore") {
  Env env;
  WriteFile(env.context / "data.txt", "v1");
  WriteFile(env.context / "secret.env", "ignored");
  WriteFile(env.context / ".dockerignore", "*.env\n");
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nRUN --mount=target=/src sh -c 'cat /src/data.txt; echo; ls /src; test ! -e /src/secret.env'\n");
  ProcessResult first = env.Build({});
  Require(first);
  CHECK_THAT(first.err, Catch::Contains("v1"));
  ProcessResult same = env.Build({});
  Require(same);
  CHECK_THAT(same.err, Catch::Contains("#2 CACHED"));
  WriteFile(env.context / "data.txt", "v2");
  ProcessResult changed = env.Build({});
  Require(changed);
  CHECK_THAT(changed.err, !Catch::Contains("#2 CACHED"));
  CHECK_THAT(changed.err, Catch::Contains("v2"));
}

TEST_CASE("RUN --network=none has only the loopback interface") {
  Env env;
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nRUN --network=none sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \" \" | "
            "sed \"s/^/if\"\"ace-/\"'\n");
  ProcessResult r = env.Build({});
  Require(r);
  CHECK_THAT(r.err, Catch::Contains("iface-lo"));
  CHECK(r.err.find("iface-") == r.err.rfind("iface-"));
}

TEST_CASE("RUN --device is refused at its line") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN --device=/dev/fuse true\n");
  ProcessResult r = env.Build({});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("Dockerfile:2"));
  CHECK_THAT(r.err, Catch::Contains("RUN --device is not supported"));
}

TEST_CASE("RUN --security=insecure runs privileged with --allow security.insecure, and is refused without") {
  Env env;
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nRUN --security=insecure sh -c 'mkdir /m && mount -t tmpfs none /m && echo mount-\"\"ok'\n");
  ProcessResult refused = env.Build({});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Catch::Contains("Dockerfile:2"));
  CHECK_THAT(refused.err, Catch::Contains("run bld build --allow security.insecure"));
  ProcessResult r = env.Build({"--allow", "security.insecure"});
  Require(r);
  CHECK_THAT(r.err, Catch::Contains("mount-ok"));
  ProcessResult bad = env.Build({"--allow", "device"});
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("--allow device: use security.insecure or network.host"));
}

TEST_CASE("a mount option value that does not exist is an error naming the line and the flag") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN --mount=type=cache,target=/c,sharing=sometimes true\n");
  ProcessResult r = env.Build({});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("Dockerfile:2"));
  CHECK_THAT(r.err, Catch::Contains("--mount=type=cache,target=/c,sharing=sometimes: unsupported sharing value"));
}

namespace {

// `program` and the shared libraries ldd names for it, copied under `root`
// at their paths: enough to run the host's ssh-add in the busybox base.
void CopyProgram(const std::string& program, const std::string& root) {
  ProcessResult ldd = RunProcess({"ldd", program});
  REQUIRE(ldd.exit_code == 0);
  std::vector<std::string> files = {program};
  std::istringstream in(ldd.out);
  for (std::string word; in >> word;)
    if (word.starts_with("/")) files.push_back(word);
  for (const std::string& file : files) {
    fs::create_directories(fs::path(root + file).parent_path());
    fs::copy_file(fs::canonical(file), root + file, fs::copy_options::overwrite_existing);
  }
}

// An ssh-agent of the test's own, with a new key loaded; stopped on
// destruction.
struct TestAgent {
  TempDir dir;
  std::string socket = dir / "agent.sock";
  std::string key = dir / "id_ed25519";
  std::string fingerprint;  // SHA256:...
  std::string pid;
  TestAgent() {
    Require(RunProcess({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key}));
    ProcessResult agent = RunProcess({"ssh-agent", "-s", "-a", socket});
    Require(agent);
    size_t at = agent.out.find("SSH_AGENT_PID=");
    REQUIRE(at != std::string::npos);
    pid = agent.out.substr(at + 14, agent.out.find(';', at) - at - 14);
    Require(RunProcess({"ssh-add", "-q", key}, "", {{"SSH_AUTH_SOCK", socket}}));
    std::istringstream fields(RunProcess({"ssh-keygen", "-l", "-f", key + ".pub"}).out);
    std::string bits;
    fields >> bits >> fingerprint;
    REQUIRE(fingerprint.starts_with("SHA256:"));
  }
  ~TestAgent() { RunProcess({"kill", pid}); }
};

}  // namespace

TEST_CASE("an ssh agent given to --ssh is reachable in the step, through a socket of the step's own") {
  Env env;
  TestAgent agent;
  CopyProgram("/usr/bin/ssh-add", env.context / "sshroot");
  WriteFile(env.context / "Dockerfile",
            "FROM busybox\nCOPY sshroot/ /\n"
            "RUN --mount=type=ssh ssh-add -l\n"
            "RUN --mount=type=ssh,id=work,target=/agent.sock,uid=1000,mode=0660 sh -c "
            "'stat -c \"socket %F %u %a\" $SSH_AUTH_SOCK && ssh-add -l'\n");
  ProcessResult r = env.Build({"-t", "ssh", "--ssh", "default=" + agent.socket, "--ssh", "work=" + agent.socket});
  Require(r);
  CHECK_THAT(r.err, Catch::Contains(agent.fingerprint));
  CHECK_THAT(r.err, Catch::Contains("socket socket 1000 660"));
  std::string entries = env.BuiltEntries("ssh");
  CHECK_THAT(entries, !Catch::Contains("run/"));
  CHECK_THAT(entries, !Catch::Contains("agent.sock"));
}

TEST_CASE("a key file given to --ssh is served by an agent bld starts and stops") {
  Env env;
  TestAgent agent;
  CopyProgram("/usr/bin/ssh-add", env.context / "sshroot");
  WriteFile(env.context / "Dockerfile", "FROM busybox\nCOPY sshroot/ /\nRUN --mount=type=ssh,required ssh-add -l\n");
  ProcessResult r = env.Build({"--ssh", "default=" + agent.key});
  Require(r);
  CHECK_THAT(r.err, Catch::Contains(agent.fingerprint));
  // The agent's directory went with it.
  for (const auto& entry : fs::directory_iterator(env.root / "tmp"))
    CHECK_FALSE(entry.path().filename().string().starts_with("ssh-"));
}

TEST_CASE("a required ssh agent that was not given fails at its line") {
  Env env;
  WriteFile(env.context / "Dockerfile", "FROM busybox\nRUN --mount=type=ssh,required true\n");
  ProcessResult r = env.Build({});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("Dockerfile:2"));
  CHECK_THAT(r.err, Catch::Contains("the required ssh agent \"default\" was not given"));
}
