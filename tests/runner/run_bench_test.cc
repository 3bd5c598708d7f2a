// The driver of bench/run_bench.sh, hidden from the test run by its [.] tag:
// `RUN true` through RunStep, end to end (snapshot lookup, container
// directory and init layer, namespaces and mounts, exec, wait, diff check,
// cleanup), on a busybox root filesystem that runc runs too.
//
// Environment: BLD_BENCH_DIR (required) holds rootfs/, store/ and the base
// layer's reference, made on the first call and reused after;
// BLD_BENCH_RUNS (default 1) is how many steps to time;
// BLD_BENCH_SECCOMP=unconfined runs the steps without the seccomp filter,
// to show what the filter costs. Prints one line "run_us <microseconds>"
// per step.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "runner_test_support.h"
#include "support/busybox.h"
#include "support/process.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;

runner::LayerRef BaseLayer(store::Store& store, const std::string& dir) {
  std::string ref_file = dir + "/base-layer";
  if (fs::exists(ref_file)) {
    std::ifstream in(ref_file);
    std::string diff_id, blob;
    in >> diff_id >> blob;
    return {store::Digest::Parse(diff_id), store::Digest::Parse(blob)};
  }
  if (!fs::exists(dir + "/rootfs")) MakeBusyboxRootfs(dir + "/rootfs");
  runner::LayerRef layer = ImportDirectoryLayer(store, dir + "/rootfs");
  WriteFile(ref_file, layer.diff_id.str() + " " + layer.blob.str() + "\n");
  return layer;
}

TEST_CASE("bench: RUN true", "[.bench]") {
  const char* dir = std::getenv("BLD_BENCH_DIR");
  REQUIRE(dir);
  const char* runs_env = std::getenv("BLD_BENCH_RUNS");
  int runs = runs_env ? std::atoi(runs_env) : 1;
  std::unique_ptr<store::Store> store = store::Store::Open(std::string(dir) + "/store");

  runner::StepSpec spec;
  spec.layers = {BaseLayer(*store, dir)};
  spec.run.argv = {"true"};
  // A network namespace of its own, as runc's default spec has.
  spec.run.network = runner::NetworkMode::kNone;
  const char* seccomp = std::getenv("BLD_BENCH_SECCOMP");
  if (seccomp && std::string_view(seccomp) == "unconfined") spec.security.seccomp = runner::SeccompMode::kUnconfined;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    runner::StepResult result = runner::RunStep(*store, spec, {});
    auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE(result.status.ok());
    std::printf("run_us %lld\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
  }
}

}  // namespace
}  // namespace bld::testing
