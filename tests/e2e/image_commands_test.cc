// The image commands through the real binary: import, images, tag, rmi,
// inspect, history, save, load, prune and check, with docker's output.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/digest.h"
#include "store/image.h"
#include "store/oci.h"
#include "store/store.h"
#include "store/timestamp.h"
#include "support/busybox.h"
#include "support/process.h"
#include "support/tar_builder.h"
#include "support/test_images.h"

namespace fs = std::filesystem;
using bld::store::Descriptor;
using bld::store::Store;
using bld::testing::ProcessResult;
using bld::testing::ReadFile;
using bld::testing::RunBld;
using bld::testing::RunProcess;
using bld::testing::TarBuilder;
using bld::testing::TempDir;
using nlohmann::json;

namespace {

// How long the stale-ingest test waits, 10 ms at a time, for a spawned
// import to create its ingest file: far longer than it takes on a loaded
// machine, short of the test timeout.
constexpr int kMaxIngestPolls = 6000;

struct Fixture {
  TempDir dir;
  std::string root = dir / "store";

  ProcessResult Bld(std::vector<std::string> args, const std::string& input = "") const {
    args.insert(args.begin(), {"--root", root});
    return RunBld(args, input);
  }

  // A rootfs tarball of busybox, made once per fixture.
  const std::string& Tarball() {
    if (tarball_.empty()) {
      tarball_ = dir / "rootfs.tar";
      bld::testing::MakeBusyboxTar(tarball_);
    }
    return tarball_;
  }

  // Imports the busybox tarball as `name`; returns the image ID.
  std::string Import(const std::string& name) {
    ProcessResult r = Bld({"import", Tarball(), name});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r.out.substr(0, r.out.size() - 1);
  }

  void RequireConsistent() const {
    ProcessResult r = Bld({"check"});
    INFO(r.out + r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("store is consistent"));
  }

 private:
  std::string tarball_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A cell padded to `width` characters (UTF-8 code points, as tabwriter counts).
std::string Pad(const std::string& cell, size_t width) {
  size_t chars = 0;
  for (char c : cell) chars += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return cell + std::string(width - chars, ' ');
}

std::string Short(const std::string& id) { return id.substr(7, 12); }

}  // namespace

// ---------------------------------------------------------------------------
// import and images

TEST_CASE("bld import prints the image ID and bld images lists it in docker's columns") {
  Fixture f;
  std::string id = f.Import("helloworld");
  REQUIRE_THAT(id, Catch::Matches("sha256:[0-9a-f]{64}"));
  ProcessResult r = f.Bld({"images"});
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines = Lines(r.out);
  REQUIRE(lines.size() == 2);
  // text/tabwriter with minwidth 10 and padding 3, as docker's tables.
  CHECK_THAT(lines[0], Catch::Matches("REPOSITORY   TAG       IMAGE ID       CREATED +SIZE"));
  CHECK_THAT(lines[1], Catch::Matches("helloworld   latest    " + Short(id) +
                                      "   (Less than a second|[0-9] seconds?) ago +[0-9.]+MB"));
}

TEST_CASE("bld import reads gzip and zstd tarballs from a file or stdin, to the same layer") {
  Fixture f;
  std::string plain = ReadFile(f.Tarball());
  REQUIRE(RunProcess({"gzip", "-k", f.Tarball()}).exit_code == 0);
  REQUIRE(RunProcess({"zstd", "-q", f.Tarball(), "-o", f.Tarball() + ".zst"}).exit_code == 0);
  std::vector<std::string> layers;
  for (const std::string& source : {f.Tarball() + ".gz", f.Tarball() + ".zst", std::string("-")}) {
    ProcessResult r = f.Bld({"import", source, "img"}, source == "-" ? plain : "");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    json inspect = json::parse(f.Bld({"inspect", "img"}).out);
    layers.push_back(inspect[0]["RootFS"]["Layers"][0]);
    CHECK(inspect[0]["Comment"] == "Imported from " + source);
  }
  CHECK(layers[0] == layers[1]);
  CHECK(layers[1] == layers[2]);
  CHECK(layers[0] == bld::store::Sha256::Of(plain).str());
}

TEST_CASE("bld import refuses a file that is not a tar and leaves the store consistent") {
  Fixture f;
  bld::testing::WriteFile(f.dir / "junk.tar", std::string(2048, 'j'));
  ProcessResult r = f.Bld({"import", f.dir / "junk.tar", "junk"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("Error: cannot import " + f.dir / "junk.tar" + ": not a valid tar archive"));
  CHECK(f.Bld({"images", "-q"}).out.empty());
  f.RequireConsistent();
}

TEST_CASE("bld import without a name makes a <none> image, which bld tag names") {
  Fixture f;
  ProcessResult r = f.Bld({"import", "-"}, ReadFile(f.Tarball()));
  REQUIRE(r.exit_code == 0);
  std::string id = r.out.substr(0, r.out.size() - 1);
  std::vector<std::string> lines = Lines(f.Bld({"images"}).out);
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[1], Catch::StartsWith("<none>       <none>    " + Short(id)));
  REQUIRE(f.Bld({"tag", Short(id), "named:v2"}).exit_code == 0);
  lines = Lines(f.Bld({"images"}).out);
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[1], Catch::StartsWith("named        v2        " + Short(id)));
}

TEST_CASE("bld images -q prints each image ID once, newest first, and --digests adds the manifest digest") {
  Fixture f;
  std::string first = f.Import("one");
  std::string second = f.Import("two");
  REQUIRE(f.Bld({"tag", "two", "two:again"}).exit_code == 0);
  CHECK(f.Bld({"images", "-q"}).out == Short(second) + "\n" + Short(first) + "\n");
  CHECK(f.Bld({"images", "-q", "--no-trunc"}).out == second + "\n" + first + "\n");
  std::vector<std::string> lines = Lines(f.Bld({"images", "--digests"}).out);
  REQUIRE(lines.size() == 4);
  CHECK_THAT(lines[0], Catch::StartsWith("REPOSITORY   TAG       DIGEST     "));
  std::string digest = json::parse(f.Bld({"inspect", "two"}).out)[0]["Descriptor"]["digest"];
  CHECK_THAT(lines[1], Catch::StartsWith("two          again     " + digest + "   " + Short(second)));
}

TEST_CASE("bld images REPOSITORY[:TAG] lists only matching images") {
  Fixture f;
  f.Import("app:1");
  f.Import("app:2");
  f.Import("other");
  CHECK(Lines(f.Bld({"images", "app"}).out).size() == 3);
  std::vector<std::string> lines = Lines(f.Bld({"images", "app:2"}).out);
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[1], Catch::StartsWith("app          2 "));
}

// ---------------------------------------------------------------------------
// tag and rmi

TEST_CASE("bld tag refuses an unknown source and a digest as the target") {
  Fixture f;
  f.Import("base");
  ProcessResult r = f.Bld({"tag", "nope", "x"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "Error: No such image: nope\n");
  r = f.Bld({"tag", "base", "x@sha256:" + std::string(64, 'a')});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("refusing to create a tag with a digest reference"));
}

TEST_CASE("bld rmi untags each name, reports unknown ones, and leaves the data for prune") {
  Fixture f;
  std::string id = f.Import("app:1");
  REQUIRE(f.Bld({"tag", "app:1", "app:2"}).exit_code == 0);
  ProcessResult r = f.Bld({"rmi", "app:1", "ghost", "app:2"});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "Untagged: app:1\nUntagged: app:2\n");
  CHECK(r.err == "Error: No such image: ghost\n");
  CHECK(f.Bld({"images", "-q"}).out.empty());
  // The blobs are still there until a prune.
  CHECK_THAT(f.Bld({"check"}).out, Catch::Contains("store is consistent: 3 blobs"));
}

TEST_CASE("bld rmi by ID removes every tag of a repository, and refuses an image in several repositories") {
  Fixture f;
  std::string id = f.Import("app:1");
  REQUIRE(f.Bld({"tag", "app:1", "app:2"}).exit_code == 0);
  ProcessResult r = f.Bld({"rmi", Short(id)});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "Untagged: app:1\nUntagged: app:2\n");

  f.Import("one");
  REQUIRE(f.Bld({"tag", "one", "two"}).exit_code == 0);
  std::string both = Lines(f.Bld({"images", "-q"}).out)[0];
  r = f.Bld({"rmi", both});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("referenced in multiple repositories"));
  CHECK(Lines(f.Bld({"images"}).out).size() == 3);
}

// ---------------------------------------------------------------------------
// inspect and history

TEST_CASE("bld inspect prints docker's fields as a JSON array") {
  Fixture f;
  std::string id = f.Import("app:1");
  REQUIRE(f.Bld({"tag", "app:1", "app:2"}).exit_code == 0);
  ProcessResult r = f.Bld({"inspect", "app:1"});
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  REQUIRE(j.size() == 1);
  CHECK(j[0]["Id"] == id);
  CHECK(j[0]["RepoTags"] == json::array({"app:1", "app:2"}));
  REQUIRE(j[0]["RepoDigests"].size() == 1);
  CHECK(j[0]["RepoDigests"][0] == "app@" + j[0]["Descriptor"]["digest"].get<std::string>());
  CHECK(j[0]["Architecture"] == bld::store::HostPlatform().architecture);
  CHECK(j[0]["Os"] == "linux");
  CHECK(j[0]["Size"].get<uint64_t>() > 0);
  CHECK(j[0]["RootFS"]["Type"] == "layers");
  CHECK(j[0]["RootFS"]["Layers"].size() == 1);
  CHECK(j[0]["Descriptor"]["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  CHECK(j[0]["Created"].get<std::string>().ends_with("Z"));
}

TEST_CASE("bld inspect prints what it found and fails naming what it did not") {
  Fixture f;
  f.Import("app");
  ProcessResult r = f.Bld({"inspect", "app", "ghost"});
  CHECK(r.exit_code == 1);
  CHECK(json::parse(r.out).size() == 1);
  CHECK(r.err == "Error: No such image: ghost\n");
}

TEST_CASE("bld history shows one row per history entry, newest first, as docker does") {
  Fixture f;
  std::string id;
  {
    auto store = Store::Open(f.root);
    Descriptor base = bld::testing::MakeBusyboxImage(*store, "base");
    bld::store::Image image = bld::store::ReadImage(*store, base);
    auto now = std::chrono::system_clock::now();
    std::string two_hours_ago = bld::store::FormatTimestamp(now - std::chrono::hours(2));
    std::string three_days_ago = bld::store::FormatTimestamp(now - std::chrono::hours(3 * 24));
    image.config.history = {{three_days_ago, "/bin/sh -c #(nop) ADD file:abc in / ", "", "", false},
                            {two_hours_ago, "/bin/sh -c #(nop)  ENV\tA=1", "", "", true},
                            {two_hours_ago, "/bin/sh -c echo a long command that docker cuts at forty-five characters",
                             "", "buildkit", true},
                            {"1970-01-01T00:00:00Z", "CMD [\"sh\"]", "", "", true}};
    bld::store::Digest image_id;
    Descriptor d = bld::store::WriteImage(*store, image.config, image.manifest.layers, true, &image_id);
    store->PutRef("docker.io/library/hist:latest", d);
    id = image_id.str();
  }
  ProcessResult r = f.Bld({"history", "hist"});
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines = Lines(r.out);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == Pad("IMAGE", 15) + Pad("CREATED", 14) + Pad("CREATED BY", 48) + Pad("SIZE", 10) + "COMMENT");
  CHECK(lines[1] == Pad(Short(id), 15) + Pad("N/A", 14) + Pad("CMD [\"sh\"]", 48) + Pad("0B", 10));
  CHECK(lines[2] == Pad("<missing>", 15) + Pad("2 hours ago", 14) +
                        Pad("/bin/sh -c echo a long command that docker c…", 48) + Pad("0B", 10) + "buildkit");
  CHECK(lines[3] ==
        Pad("<missing>", 15) + Pad("2 hours ago", 14) + Pad("/bin/sh -c #(nop)  ENV A=1", 48) + Pad("0B", 10));
  CHECK_THAT(lines[4], Catch::Matches(Pad("<missing>", 15) + Pad("3 days ago", 14) +
                                      "/bin/sh -c #\\(nop\\) ADD file:abc in /  +[0-9.]+[kM]B +"));
  r = f.Bld({"history", "--no-trunc", "hist"});
  CHECK_THAT(r.out, Catch::Contains(id + "   N/A"));
  CHECK_THAT(r.out, Catch::Contains("forty-five characters"));
}

// ---------------------------------------------------------------------------
// save and load

TEST_CASE("bld save and bld load carry images between stores, in both formats") {
  Fixture f;
  std::string id = f.Import("app:1");
  for (std::string format : {"docker", "oci"}) {
    std::string archive = f.dir / ("app-" + format + ".tar");
    ProcessResult r = f.Bld({"save", "--format", format, "-o", archive, "app:1"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.empty());
    TempDir other;
    r = RunBld({"--root", other / "store", "load", "-i", archive});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "Loaded image: app:1\n");
    CHECK(RunBld({"--root", other / "store", "images", "-q", "--no-trunc"}).out == id + "\n");
    CHECK(RunBld({"--root", other / "store", "check"}).exit_code == 0);
  }
}

TEST_CASE("bld save writes to stdout and bld load reads stdin") {
  Fixture f;
  std::string id = f.Import("app");
  ProcessResult saved = f.Bld({"save", Short(id)});
  REQUIRE(saved.exit_code == 0);
  TempDir other;
  ProcessResult r = RunBld({"--root", other / "store", "load"}, saved.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // Saved by ID: no names in the archive.
  CHECK(r.out == "Loaded image ID: " + id + "\n");
  std::vector<std::string> lines = Lines(RunBld({"--root", other / "store", "images"}).out);
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[1], Catch::StartsWith("<none>       <none>    " + Short(id)));
}

TEST_CASE("bld save of a repository saves all its tags") {
  Fixture f;
  f.Import("app:1");
  f.Import("app:2");
  f.Import("other");
  ProcessResult r = f.Bld({"save", "-o", f.dir / "all.tar", "app"});
  REQUIRE(r.exit_code == 0);
  TempDir other;
  r = RunBld({"--root", other / "store", "load", "-i", f.dir / "all.tar"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("Loaded image: app:1\n"));
  CHECK_THAT(r.out, Catch::Contains("Loaded image: app:2\n"));
  CHECK(Lines(r.out).size() == 2);
}

TEST_CASE("bld save of an unknown image fails and leaves no file") {
  Fixture f;
  f.Import("app");
  ProcessResult r = f.Bld({"save", "-o", f.dir / "out.tar", "app", "ghost"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "Error: No such image: ghost\n");
  CHECK_FALSE(fs::exists(f.dir / "out.tar"));
  for (const auto& entry : fs::directory_iterator(f.dir.path()))
    CHECK_THAT(entry.path().filename().string(), !Catch::Contains(".tmp-"));
  r = f.Bld({"save", "--format", "zip", "app"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "Error: --format zip: use docker or oci\n");
}

TEST_CASE("bld load refuses a hostile archive with a clear error and keeps the store consistent") {
  Fixture f;
  std::string id = f.Import("app");
  std::string archive = f.dir / "app.tar";
  REQUIRE(f.Bld({"save", "-o", archive, "app"}).exit_code == 0);
  fs::create_directories(f.dir / "x");
  REQUIRE(RunProcess({"tar", "-C", f.dir / "x", "-xf", archive}).exit_code == 0);
  json manifest = json::parse(ReadFile(f.dir / "x/manifest.json"));
  manifest[0]["Layers"][0] = "../../../../etc/passwd";
  bld::testing::WriteFile(f.dir / "x/manifest.json", manifest.dump());
  REQUIRE(RunProcess({"tar", "-C", f.dir / "x", "-cf", f.dir / "evil.tar", "."}).exit_code == 0);
  TempDir other;
  ProcessResult r = RunBld({"--root", other / "store", "load", "-i", f.dir / "evil.tar"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "Error: cannot load " + (f.dir / "evil.tar") +
                     ": manifest.json: image 0: the layer \"../../../../etc/passwd\" points out of the archive\n");
  CHECK(RunBld({"--root", other / "store", "images", "-q"}).out.empty());
  CHECK(RunBld({"--root", other / "store", "check"}).exit_code == 0);
}

namespace {

// A docker-archive of one image whose only layer is `layer`, byte for byte,
// at L0/layer.tar, with the config's diffID its sha256: only the layer rules
// can refuse it.
std::string DockerArchiveWithLayer(const std::string& layer) {
  bld::store::ImageConfig config;
  config.architecture = bld::store::HostPlatform().architecture;
  config.os = "linux";
  config.rootfs.diff_ids = {bld::store::Sha256::Of(layer)};
  std::string config_json = bld::store::Serialize(config);
  std::string config_name = std::string(bld::store::Sha256::Of(config_json).hex()) + ".json";
  json manifest = json::array({{{"Config", config_name}, {"RepoTags", {"hostile:v1"}}, {"Layers", json::array({"L0/layer.tar"})}}});
  return TarBuilder().File(config_name, config_json).File("L0/layer.tar", layer).File("manifest.json", manifest.dump())
      .Finish();
}

// `bld load` of an archive holding `layer` and `bld import` of `layer` both
// fail naming the archive or tarball, the layer and `entry_message`; the
// store's images stay as they were and `bld check` finds it clean, with
// nothing left in ingest/.
void RequireLayerRefused(const std::string& layer, const std::string& entry_message) {
  Fixture f;
  f.Import("kept");
  std::string before = f.Bld({"images", "-q"}).out;
  std::string archive = f.dir / "hostile.tar";
  std::string tarball = f.dir / "layer.tar";
  bld::testing::WriteFile(archive, DockerArchiveWithLayer(layer));
  bld::testing::WriteFile(tarball, layer);

  ProcessResult r = f.Bld({"load", "-i", archive});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("Error: cannot load " + archive +
                                      ": manifest.json: image 0: the layer \"L0/layer.tar\" is not a layer bld can "
                                      "use: ") &&
                        Catch::Contains(entry_message));
  r = f.Bld({"import", tarball, "hostile"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("Error: cannot import " + tarball + ": ") && Catch::Contains(entry_message));

  CHECK(f.Bld({"images", "-q"}).out == before);
  r = f.Bld({"check"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("store is consistent") && !Catch::Contains("unfinished writes"));
}

}  // namespace

TEST_CASE("bld load and bld import refuse a layer of random bytes and keep the store as it was") {
  std::string junk(8192, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
  RequireLayerRefused(junk, "not a valid tar archive at its start");
}

TEST_CASE("bld load and bld import refuse a truncated layer and keep the store as it was") {
  std::string tar = TarBuilder().File("ok", "fine").File("big", std::string(100000, 'a')).Finish();
  RequireLayerRefused(tar.substr(0, 50000), "not a valid tar archive after the entry \"big\"");
}

TEST_CASE("bld load and bld import refuse a layer entry climbing out with .. and keep the store as it was") {
  RequireLayerRefused(TarBuilder().File("a/../../etc/passwd", "evil").Finish(),
                      "layer entry \"a/../../etc/passwd\" climbs above the root with \"..\"");
}

TEST_CASE("bld load and bld import refuse a file written through a symlink and keep the store as it was") {
  RequireLayerRefused(TarBuilder().Symlink("evil", "/etc").File("evil/passwd", "evil").Finish(),
                      "layer entry \"evil/passwd\" goes through \"evil\", a symlink an earlier entry made");
}

TEST_CASE("bld load and bld import refuse a hard link to a host path and keep the store as it was") {
  RequireLayerRefused(TarBuilder().Hardlink("passwd", "/etc/passwd").Finish(),
                      "layer entry \"passwd\" is a hard link to \"/etc/passwd\", which is not an earlier entry");
}

TEST_CASE("bld load refuses a layer that is not the one its config lists") {
  Fixture f;
  std::string layer = TarBuilder().File("a", "1").Finish();
  std::string archive = DockerArchiveWithLayer(layer);
  // The same archive with another layer in the place of the one the config names.
  std::string other = TarBuilder().File("b", "2").Finish();
  size_t at = archive.find(layer);
  REQUIRE(other.size() == layer.size());
  archive.replace(at, layer.size(), other);
  bld::testing::WriteFile(f.dir / "swapped.tar", archive);
  ProcessResult r = f.Bld({"load", "-i", f.dir / "swapped.tar"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("the layer \"L0/layer.tar\" holds the layer " +
                                    bld::store::Sha256::Of(other).str() + ", but the image config lists " +
                                    bld::store::Sha256::Of(layer).str()));
  CHECK(f.Bld({"images", "-q"}).out.empty());
}

TEST_CASE("bld import of a tar with absolute names makes them relative, as docker import does") {
  Fixture f;
  bld::testing::WriteFile(f.dir / "abs.tar", TarBuilder().Dir("/etc").File("/etc/motd", "hello").Finish());
  REQUIRE(f.Bld({"import", f.dir / "abs.tar", "abs"}).exit_code == 0);
  f.RequireConsistent();
}

// ---------------------------------------------------------------------------
// prune and check

TEST_CASE("the next command after a killed import removes its partial write, so bld check is clean") {
  Fixture f;
  f.Import("base");
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = bld::testing::SpawnBld({"--root", f.root, "import", "-", "partial"}, fds[0]);
  close(fds[0]);
  std::string start = ReadFile(f.Tarball()).substr(0, 4096);
  REQUIRE(write(fds[1], start.data(), start.size()) == static_cast<ssize_t>(start.size()));
  // The import waits for the rest of its input with its ingest file open.
  std::string ingest = f.root + "/ingest";
  for (int polls = 0; fs::is_empty(ingest) && polls < kMaxIngestPolls; ++polls)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE_FALSE(fs::is_empty(ingest));
  REQUIRE(kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  close(fds[1]);
  ProcessResult r = f.Bld({"check"});
  CHECK_THAT(r.out, Catch::Contains("note: 1 unfinished writes of commands that died are in ingest/"));

  f.Import("base");
  r = f.Bld({"check"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("store is consistent") && !Catch::Contains("unfinished writes"));
  CHECK(fs::is_empty(ingest));
}

TEST_CASE("bld prune removes what no image uses and reports the space reclaimed") {
  Fixture f;
  f.Import("keep");
  std::string gone = f.Import("gone");
  REQUIRE(f.Bld({"rmi", "gone"}).exit_code == 0);
  ProcessResult r = f.Bld({"prune"});
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines = Lines(r.out);
  REQUIRE(lines.size() >= 4);
  CHECK(lines[0] == "Deleted blobs:");
  CHECK_THAT(r.out, Catch::Contains(gone + "\n"));
  CHECK_THAT(lines.back(), Catch::Matches("Total reclaimed space: [0-9.]+k?B"));
  CHECK(Lines(f.Bld({"images"}).out).size() == 2);
  f.RequireConsistent();
  // The layer is shared with the kept image: only the config and manifest go.
  CHECK(f.Bld({"prune"}).out == "Total reclaimed space: 0B\n");
}

TEST_CASE("bld check reports a corrupted blob and exits 1") {
  Fixture f;
  std::string id = f.Import("app");
  f.RequireConsistent();
  std::string config = f.root + "/blobs/sha256/" + id.substr(7);
  ::chmod(config.c_str(), 0644);
  bld::testing::WriteFile(config, "{}");
  ProcessResult r = f.Bld({"check"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("blob " + id + ": its content does not match its digest"));
  CHECK_THAT(r.out, Catch::Contains("problems found"));
}
