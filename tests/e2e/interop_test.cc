// bld's archives against the real tools: what bld saves, skopeo, umoci and
// podman read; what they write, bld loads. The peers are Debian's packages
// (skopeo, umoci, podman; see /work/shared/PEERS.md for their setup here).
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/busybox.h"
#include "support/podman.h"
#include "support/process.h"

namespace fs = std::filesystem;
using bld::testing::PodmanEnv;
using bld::testing::ProcessResult;
using bld::testing::ReadFile;
using bld::testing::RunBld;
using bld::testing::RunProcess;
using bld::testing::TempDir;
using bld::testing::WriteFile;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir;
  std::string root = dir / "store";

  ProcessResult Bld(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--root", root});
    return RunBld(args);
  }

  // A busybox rootfs with /etc/greeting, imported as `name`; returns its ID.
  std::string ImportGreeting(const std::string& name) {
    std::string rootfs = dir / "rootfs";
    bld::testing::MakeBusyboxRootfs(rootfs);
    WriteFile(rootfs + "/etc/greeting", "hello from bld\n");
    Require(RunProcess({"tar", "-C", rootfs, "--numeric-owner", "-cf", dir / "rootfs.tar", "."}));
    ProcessResult r = Bld({"import", dir / "rootfs.tar", name});
    Require(r);
    return r.out.substr(0, r.out.size() - 1);
  }

  // Runs skopeo with a policy of its own (no system policy.json needed).
  ProcessResult Skopeo(std::vector<std::string> args) const { return bld::testing::RunSkopeo(dir, std::move(args)); }

  static void Require(const ProcessResult& r) {
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }

  // Unpacks an OCI archive with umoci and returns the rootfs path.
  std::string UmociUnpack(const std::string& archive, const std::string& tag, const std::string& name) {
    std::string layout = dir / (name + "-layout");
    std::string bundle = dir / (name + "-bundle");
    fs::create_directories(layout);
    Require(RunProcess({"tar", "-C", layout, "-xf", archive}));
    Require(RunProcess({"umoci", "unpack", "--image", layout + ":" + tag, bundle}));
    return bundle + "/rootfs";
  }
};

}  // namespace

TEST_CASE("an OCI archive saved by bld is read by skopeo inspect and unpacked by umoci") {
  Fixture f;
  std::string id = f.ImportGreeting("greeter:v1");
  std::string archive = f.dir / "greeter.tar";
  Fixture::Require(f.Bld({"save", "--format", "oci", "-o", archive, "greeter:v1"}));

  ProcessResult inspect = f.Skopeo({"inspect", "oci-archive:" + archive});
  Fixture::Require(inspect);
  json j = json::parse(inspect.out);
  json ours = json::parse(f.Bld({"inspect", "greeter:v1"}).out)[0];
  CHECK(j["Digest"] == ours["Descriptor"]["digest"]);
  CHECK(j["Architecture"] == ours["Architecture"]);
  CHECK(j["Layers"].size() == 1);

  std::string rootfs = f.UmociUnpack(archive, "v1", "greeter");
  CHECK(ReadFile(rootfs + "/etc/greeting") == "hello from bld\n");
  CHECK(fs::is_symlink(rootfs + "/bin/sh"));
}

TEST_CASE("archives skopeo writes from a bld image, docker-archive and oci-archive, are loaded by bld") {
  Fixture f;
  std::string id = f.ImportGreeting("greeter:v1");
  std::string saved = f.dir / "saved.tar";
  Fixture::Require(f.Bld({"save", "--format", "oci", "-o", saved, "greeter:v1"}));
  Fixture::Require(
      f.Skopeo({"copy", "oci-archive:" + saved, "docker-archive:" + f.dir / "docker.tar" + ":team/copied:2"}));
  Fixture::Require(f.Skopeo({"copy", "oci-archive:" + saved, "oci-archive:" + f.dir / "oci.tar" + ":team/copied:3"}));

  TempDir other;
  ProcessResult r = RunBld({"--root", other / "store", "load", "-i", f.dir / "docker.tar"});
  Fixture::Require(r);
  CHECK(r.out == "Loaded image: team/copied:2\n");
  r = RunBld({"--root", other / "store", "load", "-i", f.dir / "oci.tar"});
  Fixture::Require(r);
  CHECK(r.out == "Loaded image: team/copied:3\n");
  // The same image: its config, so its ID, came through both copies.
  CHECK(RunBld({"--root", other / "store", "images", "-q", "--no-trunc"}).out == id + "\n");
  CHECK(RunBld({"--root", other / "store", "check"}).exit_code == 0);
}

TEST_CASE("an image umoci builds, copied by skopeo into an archive, is loaded by bld with its files") {
  Fixture f;
  std::string layout = f.dir / "umoci-layout";
  std::string bundle = f.dir / "umoci-bundle";
  Fixture::Require(RunProcess({"umoci", "init", "--layout", layout}));
  Fixture::Require(RunProcess({"umoci", "new", "--image", layout + ":base"}));
  Fixture::Require(RunProcess({"umoci", "unpack", "--image", layout + ":base", bundle}));
  WriteFile(bundle + "/rootfs/etc/made-by", "umoci\n");
  Fixture::Require(RunProcess({"umoci", "repack", "--image", layout + ":base", bundle}));
  std::string archive = f.dir / "umoci.tar";
  Fixture::Require(f.Skopeo({"copy", "oci:" + layout + ":base", "oci-archive:" + archive + ":made/by:umoci"}));

  ProcessResult r = f.Bld({"load", "-i", archive});
  Fixture::Require(r);
  CHECK(r.out == "Loaded image: made/by:umoci\n");
  // Back out through bld, and unpacked by umoci again: the file survived.
  Fixture::Require(f.Bld({"save", "--format", "oci", "-o", f.dir / "again.tar", "made/by:umoci"}));
  CHECK(ReadFile(f.UmociUnpack(f.dir / "again.tar", "umoci", "again") + "/etc/made-by") == "umoci\n");
}

TEST_CASE("podman loads what bld saves as a docker-archive, and bld loads what podman saves") {
  Fixture f;
  std::string id = f.ImportGreeting("greeter:v1");
  std::string archive = f.dir / "greeter.tar";
  Fixture::Require(f.Bld({"save", "-o", archive, "greeter:v1"}));
  std::map<std::string, std::string> env = PodmanEnv(f.dir);

  ProcessResult r = RunProcess({"podman", "load", "-i", archive}, "", env);
  Fixture::Require(r);
  // podman puts names without a registry under localhost/, as it does for
  // docker's own archives.
  CHECK_THAT(r.out, Catch::Contains("Loaded image: localhost/greeter:v1"));
  r = RunProcess({"podman", "image", "inspect", "--format", "{{.Id}}", "localhost/greeter:v1"}, "", env);
  Fixture::Require(r);
  CHECK("sha256:" + r.out.substr(0, r.out.find('\n')) == id);

  for (std::string format : {"docker-archive", "oci-archive"}) {
    std::string out = f.dir / ("podman-" + format + ".tar");
    Fixture::Require(RunProcess({"podman", "save", "--format", format, "-o", out, "localhost/greeter:v1"}, "", env));
    TempDir other;
    r = RunBld({"--root", other / "store", "load", "-i", out});
    Fixture::Require(r);
    CHECK(r.out == "Loaded image: localhost/greeter:v1\n");
    CHECK(RunBld({"--root", other / "store", "images", "-q", "--no-trunc"}).out == id + "\n");
  }
}
