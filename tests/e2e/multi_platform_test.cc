// `bld build --platform linux/amd64,linux/arm64`: one image per platform,
// built in parallel, the steps they share run once, the result an image
// index that push, skopeo, run, pull, images and inspect all see as one
// multi-platform image. The arm64 steps run under QEMU (qemu-user-static,
// registered by scripts/install-deps.sh test); base images are made here
// from Debian's busybox-static for each architecture.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runner/emulation.h"
#include "store/platform.h"
#include "support/busybox.h"
#include "support/process.h"
#include "support/registry_server.h"

namespace fs = std::filesystem;
using bld::testing::ProcessResult;
using bld::testing::ReadFile;
using bld::testing::RegistryServer;
using bld::testing::RunBld;
using bld::testing::RunProcess;
using bld::testing::TempDir;
using bld::testing::WriteFile;
using nlohmann::json;

namespace {

// A cross-compiling shape: a tool stage on the build platform that both
// platforms share (its RUN counts its runs in a cache mount), and a final
// stage per target that records the platform it was built for and the
// machine its RUN ran on.
constexpr const char* kDockerfile =
    "FROM --platform=$BUILDPLATFORM base-amd64 AS tools\n"
    "RUN --mount=type=cache,target=/runs echo run >> /runs/log && wc -l < /runs/log > /tool-runs\n"
    "FROM base-$TARGETARCH\n"
    "ARG TARGETPLATFORM\n"
    "COPY --from=tools /tool-runs /\n"
    "RUN echo \"$TARGETPLATFORM $(uname -m)\" > /arch.txt\n";

// Why this machine cannot run the multi-platform tests, or "".
std::string MissingForArm64() {
  if (!bld::testing::ForeignBusybox("arm64"))
    return "no arm64 busybox at /usr/local/lib/bld-test/arm64 (scripts/install-deps.sh test unpacks it)";
  if (auto problem = bld::runner::EmulationProblem(bld::store::ParsePlatform("linux/arm64"))) return *problem;
  return "";
}

struct Fixture {
  TempDir dir;
  std::string root = dir / "store";
  std::string context = dir / "ctx";
  std::map<std::string, std::string> env = {{"DOCKER_CONFIG", dir / "docker"}, {"BLD_CONFIG", dir / "none.json"}};

  explicit Fixture(const std::string& dockerfile = kDockerfile) { WriteFile(context + "/Dockerfile", dockerfile); }
  ProcessResult Bld(std::vector<std::string> args, const std::string& store = "") const {
    args.insert(args.begin(), {"--root", store.empty() ? root : store});
    return RunBld(args, "", env);
  }
  ProcessResult Skopeo(std::vector<std::string> args) const { return bld::testing::RunSkopeo(dir, std::move(args)); }
  void ImportBases() const {
    bld::testing::MakeBusyboxTar(dir / "amd64.tar");
    Require(Bld({"import", "--platform", "linux/amd64", dir / "amd64.tar", "base-amd64"}));
    bld::testing::MakeBusyboxTar(dir / "arm64.tar", *bld::testing::ForeignBusybox("arm64"));
    Require(Bld({"import", "--platform", "linux/arm64", dir / "arm64.tar", "base-arm64"}));
  }
  static void Require(const ProcessResult& r) {
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
};

}  // namespace

TEST_CASE("a two-platform build runs each platform's steps on its machine and the shared stage once") {
  if (std::string missing = MissingForArm64(); !missing.empty()) {
    WARN("skipped: " << missing);
    return;
  }
  if (bld::store::HostPlatform().architecture != "amd64") {
    WARN("skipped: the test's tool stage is an amd64 image");
    return;
  }
  Fixture f;
  f.ImportBases();
  ProcessResult r = f.Bld({"build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64", "-t", "multi:v1",
                           "-o", "type=local,dest=" + (f.dir / "out"), f.context});
  Fixture::Require(r);
  // Each platform's steps are named with it, as buildx names them.
  CHECK_THAT(r.err, Catch::Contains("[linux/arm64 stage-1 4/4] RUN"));
  CHECK_THAT(r.err, Catch::Contains("[linux/amd64 stage-1 4/4] RUN"));
  CHECK(ReadFile(f.dir / "out/linux_amd64/arch.txt") == "linux/amd64 x86_64\n");
  CHECK(ReadFile(f.dir / "out/linux_arm64/arch.txt") == "linux/arm64 aarch64\n");
  // The build-platform stage ran once for both.
  CHECK(ReadFile(f.dir / "out/linux_amd64/tool-runs") == "1\n");
  CHECK(ReadFile(f.dir / "out/linux_arm64/tool-runs") == "1\n");

  // One image index under the tag, with both platforms; its ID is the one
  // the build printed.
  std::string id = r.out.substr(0, r.out.find('\n'));
  r = f.Bld({"inspect", "multi:v1"});
  Fixture::Require(r);
  json inspect = json::parse(r.out)[0];
  CHECK(inspect["Id"] == id);
  CHECK(inspect["Descriptor"]["mediaType"] == "application/vnd.oci.image.index.v1+json");
  REQUIRE(inspect["Manifests"].size() == 2);
  CHECK(inspect["Manifests"][0]["platform"]["architecture"] == "amd64");
  CHECK(inspect["Manifests"][1]["platform"]["architecture"] == "arm64");
  r = f.Bld({"images", "--no-trunc", "multi"});
  Fixture::Require(r);
  CHECK_THAT(r.out, Catch::Contains(id));

  // run picks the entry: the host's, or --platform's (under QEMU).
  r = f.Bld({"run", "--rm", "multi:v1", "cat", "/arch.txt"});
  Fixture::Require(r);
  CHECK(r.out == "linux/amd64 x86_64\n");
  r = f.Bld({"run", "--rm", "--platform", "linux/arm64", "multi:v1", "cat", "/arch.txt"});
  Fixture::Require(r);
  CHECK(r.out == "linux/arm64 aarch64\n");

  // A rebuild runs nothing and gives the same index.
  r = f.Bld({"build", "-q", "--platform", "linux/amd64,linux/arm64", "-t", "multi:v1", f.context});
  Fixture::Require(r);
  CHECK(r.out == id + "\n");
}

TEST_CASE("a multi-platform image is pushed as an index that skopeo reads and pulled per platform") {
  if (std::string missing = MissingForArm64(); !missing.empty()) {
    WARN("skipped: " << missing);
    return;
  }
  RegistryServer registry;
  Fixture f("FROM base-$TARGETARCH\nRUN uname -m > /machine\n");
  f.ImportBases();
  std::string name = registry.host() + "/team/multi:v1";
  Fixture::Require(f.Bld({"build", "-q", "--platform", "linux/amd64,linux/arm64", "--push", "-t", name, f.context}));

  ProcessResult r = f.Skopeo({"inspect", "--tls-verify=false", "--raw", "docker://" + name});
  Fixture::Require(r);
  json index = json::parse(r.out);
  CHECK(index["mediaType"] == "application/vnd.oci.image.index.v1+json");
  REQUIRE(index["manifests"].size() == 2);
  CHECK(index["manifests"][0]["platform"] == json({{"architecture", "amd64"}, {"os", "linux"}}));
  CHECK(index["manifests"][1]["platform"] == json({{"architecture", "arm64"}, {"os", "linux"}}));

  // skopeo picks the arm64 image out of it; its file says aarch64.
  std::string copied = f.dir / "arm64-copy";
  Fixture::Require(f.Skopeo({"copy", "--src-tls-verify=false", "--override-arch", "arm64", "docker://" + name,
                             "dir:" + copied}));
  json manifest = json::parse(ReadFile(copied + "/manifest.json"));
  std::string last_layer = manifest["layers"].back()["digest"].get<std::string>().substr(7);
  r = RunProcess({"tar", "-xzOf", copied + "/" + last_layer, "machine"});
  Fixture::Require(r);
  CHECK(r.out == "aarch64\n");

  // A new store pulls the platform it asks for.
  std::string other = f.dir / "other-store";
  Fixture::Require(f.Bld({"pull", "--platform", "linux/arm64", name}, other));
  r = f.Bld({"run", "--rm", "--platform", "linux/arm64", name, "cat", "/machine"}, other);
  Fixture::Require(r);
  CHECK(r.out == "aarch64\n");
}

TEST_CASE("a multi-platform build with --format docker makes a Docker manifest list") {
  if (std::string missing = MissingForArm64(); !missing.empty()) {
    WARN("skipped: " << missing);
    return;
  }
  Fixture f("FROM base-$TARGETARCH\nCOPY Dockerfile /\n");
  f.ImportBases();
  Fixture::Require(f.Bld({"build", "-q", "--format", "docker", "--platform", "linux/arm64,linux/amd64", "-t", "m",
                          "-o", "type=oci,dest=" + (f.dir / "m.tar"), f.context}));
  ProcessResult r = f.Bld({"inspect", "m"});
  Fixture::Require(r);
  json inspect = json::parse(r.out)[0];
  CHECK(inspect["Descriptor"]["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json");
  REQUIRE(inspect["Manifests"].size() == 2);
  CHECK(inspect["Manifests"][0]["platform"]["architecture"] == "arm64");
  // The OCI archive output holds the whole list: skopeo takes either entry.
  for (const std::string arch : {"arm64", "amd64"}) {
    r = f.Skopeo({"inspect", "--override-arch", arch, "oci-archive:" + (f.dir / "m.tar")});
    Fixture::Require(r);
    CHECK(json::parse(r.out)["Architecture"] == arch);
  }
}

TEST_CASE("an image for one platform is refused as the base of another, not built into a mislabeled image") {
  RegistryServer registry;  // which has no image of that name for the platform either
  Fixture f;
  std::string base = registry.host() + "/team/base";
  WriteFile(f.context + "/Dockerfile", "FROM " + base + "\nRUN true\n");
  bld::testing::MakeBusyboxTar(f.dir / "base.tar");
  Fixture::Require(f.Bld({"import", f.dir / "base.tar", base}));
  ProcessResult r = f.Bld({"build", "--platform", "linux/s390x", "-t", "wrong", f.context});
  CHECK(r.exit_code != 0);
  std::string host = bld::store::FormatPlatform(bld::store::HostPlatform());
  CHECK_THAT(r.err, Catch::Contains("image " + base + " is for " + host + ", not linux/s390x (pulling one failed: "));
  CHECK_THAT(r.err, Catch::Contains("bld import --platform linux/s390x"));
  CHECK(f.Bld({"inspect", "wrong"}).exit_code != 0);
}

TEST_CASE("a base the store has for the host is pulled for another platform, and its name still means the host's") {
  RegistryServer registry;
  // A two-platform image in the registry, made without running anything
  // (COPY only), so no emulator is needed: the arm64 base holds the same
  // files, labeled arm64.
  Fixture f("FROM base-$TARGETARCH\nCOPY Dockerfile /made-for\n");
  bld::testing::MakeBusyboxTar(f.dir / "base.tar");
  Fixture::Require(f.Bld({"import", "--platform", "linux/amd64", f.dir / "base.tar", "base-amd64"}));
  Fixture::Require(f.Bld({"import", "--platform", "linux/arm64", f.dir / "base.tar", "base-arm64"}));
  std::string name = registry.host() + "/team/multi:v1";
  Fixture::Require(f.Bld({"build", "-q", "--platform", "linux/amd64,linux/arm64", "--push", "-t", name, f.context}));

  // Another store has the amd64 image under the name; an arm64 build on it
  // pulls the arm64 one.
  std::string other = f.dir / "other-store";
  Fixture::Require(f.Bld({"pull", "--platform", "linux/amd64", name}, other));
  WriteFile(f.dir / "ctx2/Dockerfile", "FROM " + name + "\nCOPY Dockerfile /again\n");
  Fixture::Require(f.Bld({"build", "-q", "--platform", "linux/arm64", "-t", "on-arm64", f.dir / "ctx2"}, other));
  ProcessResult r = f.Bld({"inspect", "on-arm64"}, other);
  Fixture::Require(r);
  CHECK(json::parse(r.out)[0]["Architecture"] == "arm64");
  r = f.Bld({"inspect", name}, other);
  Fixture::Require(r);
  CHECK(json::parse(r.out)[0]["Architecture"] == "amd64");
}

TEST_CASE("outputs that hold one platform's image, and build caches, are refused for a multi-platform build before it runs") {
  Fixture f("FROM base\nRUN touch /ran\n");
  for (const std::string type : {"tar", "docker"}) {
    ProcessResult r = f.Bld({"build", "--platform", "linux/amd64,linux/arm64", "-o",
                             "type=" + type + ",dest=" + (f.dir / "x.tar"), f.context});
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.err, Catch::Contains("--output type=" + type + " holds one platform's image"));
    CHECK_FALSE(fs::exists(f.dir / "x.tar"));
  }
  ProcessResult cache = f.Bld({"build", "--platform", "linux/amd64,linux/arm64", "--cache-to",
                               "type=local,dest=" + (f.dir / "cache"), f.context});
  CHECK(cache.exit_code != 0);
  CHECK_THAT(cache.err, Catch::Contains("--cache-to and --cache-from are not supported with several platforms"));
  CHECK_FALSE(fs::exists(f.dir / "cache"));
  ProcessResult r = f.Bld({"build", "--platform", "linux/amd64,linux/bogus/x/y", f.context});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("--platform linux/amd64,linux/bogus/x/y"));
}
