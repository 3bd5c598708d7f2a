// Overlay mounts, made in forked children with a mount namespace of their own
// (MountOverlay changes the working directory and must not touch the host's
// mount table).
#include "runner/overlay.h"

#include <sched.h>
#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <stdexcept>

#include "runner_test_support.h"
#include "support/process.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;
using runner::OverlayLayers;
using runner::OverlayMountApi;

// Lower layers named like snapshots (64 hex digits), each holding one file
// "f<i>", plus upper and work dirs beside them.
OverlayLayers MakeLayers(const TempDir& dir, int count) {
  OverlayLayers layers;
  fs::create_directories(dir / "snapshots");
  for (int i = 0; i < count; ++i) {
    std::string hex = std::string(60, 'a') + std::to_string(1000 + i);
    std::string path = dir / ("snapshots/" + hex);
    WriteFile(path + "/f" + std::to_string(i), std::to_string(i));
    layers.lowerdirs.insert(layers.lowerdirs.begin(), path);
  }
  fs::create_directories(dir / "container/upper");
  fs::create_directories(dir / "container/work");
  fs::create_directories(dir / "container/rootfs");
  layers.upperdir = dir / "container/upper";
  layers.workdir = dir / "container/work";
  return layers;
}

void InPrivateMountNamespace() {
  if (::unshare(CLONE_NEWNS) != 0) throw std::runtime_error("unshare");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) throw std::runtime_error("private");
}

void ExpectFile(const std::string& path, const std::string& content) {
  if (!fs::exists(path) || ReadFile(path) != content) throw std::runtime_error(path + " is not as expected");
}

TEST_CASE("the overlay shows every layer and writes only to the upper dir") {
  for (OverlayMountApi api : {OverlayMountApi::kBest, OverlayMountApi::kLegacy}) {
    TempDir dir;
    OverlayLayers layers = MakeLayers(dir, 3);
    std::string rootfs = dir / "container/rootfs";
    CHECK(RunInChild([&] {
            InPrivateMountNamespace();
            runner::MountOverlay(layers, rootfs, api);
            ExpectFile(rootfs + "/f0", "0");
            ExpectFile(rootfs + "/f2", "2");
            WriteFile(rootfs + "/new", "n");
            fs::remove(rootfs + "/f1");
          }) == 0);
    CHECK(ReadFile(dir / "container/upper/new") == "n");
    CHECK(fs::is_character_file(dir / "container/upper/f1"));
    CHECK(fs::exists(layers.lowerdirs[1] + "/f1"));
  }
}

TEST_CASE("more layers than mount(2) options can hold are mounted with lowerdir+") {
  TempDir dir;
  OverlayLayers layers = MakeLayers(dir, 100);
  std::string rootfs = dir / "container/rootfs";
  CHECK(RunInChild([&] {
          InPrivateMountNamespace();
          runner::MountOverlay(layers, rootfs);
          ExpectFile(rootfs + "/f0", "0");
          ExpectFile(rootfs + "/f99", "99");
        }) == 0);
}

TEST_CASE("mount(2) refuses too many layers with a message that says why") {
  TempDir dir;
  OverlayLayers layers = MakeLayers(dir, 100);
  std::string rootfs = dir / "container/rootfs";
  CHECK(RunInChild([&] {
          InPrivateMountNamespace();
          try {
            runner::MountOverlay(layers, rootfs, OverlayMountApi::kLegacy);
          } catch (const Error& e) {
            if (std::string(e.what()).find("more than the 4095 that mount(2) accepts") != std::string::npos) return;
            throw;
          }
          throw std::runtime_error("the mount did not fail");
        }) == 0);
}

TEST_CASE("a refused overlay mount names the step and where to read why") {
  TempDir dir;
  OverlayLayers layers = MakeLayers(dir, 1);
  layers.workdir = layers.upperdir;  // overlayfs refuses a workdir equal to the upperdir
  std::string rootfs = dir / "container/rootfs";
  CHECK(RunInChild([&] {
          InPrivateMountNamespace();
          try {
            runner::MountOverlay(layers, rootfs);
          } catch (const Error& e) {
            std::string message = e.what();
            if (message.starts_with("runner: create the overlay filesystem for " + rootfs + ": Invalid argument") &&
                message.ends_with("(the kernel log, dmesg, says why)"))
              return;
            throw;
          }
          throw std::runtime_error("the mount did not fail");
        }) == 0);
}

}  // namespace
}  // namespace bld::testing
