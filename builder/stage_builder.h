// One stage of a build, from its FROM to its last instruction.
//
// For each instruction, in order: expand its arguments in the stage's scope,
// compute its cache key (cache_key.h; for COPY/ADD this plans and hashes the
// sources, copy_planner.h), look the key up, and on a hit take the recorded
// image state; on a miss execute it (step_executor.h) and record the result.
// The base's ONBUILD triggers run first, as if written right after FROM.
//
// BuildEnv is what every stage of one build shares: the options, the
// Dockerfile, the context, the seams of build_backend.h, the events, the
// cancellation and the results of other stages (FROM <stage>, COPY --from).
//
// Thread-safety: stages of one build run on their own threads at once; what
// BuildEnv holds is safe for that (StageResults locks, the seams are
// thread-safe by contract).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_backend.h"
#include "builder/build_context.h"
#include "builder/build_events.h"
#include "builder/image_state.h"
#include "builder/stage_scheduler.h"
#include "builder/stat_cache.h"
#include "parser/dockerfile.h"

namespace bld::builder {

struct BuildOptions;
class StepFlights;

// What a finished stage left: its image and the key of its last step.
struct StageResult {
  ImageState state;
  std::string key;
};

// The results of the stages built so far, by stage index.
class StageResults {
 public:
  explicit StageResults(size_t stages) : results_(stages) {}
  void Set(int stage, StageResult result);
  // Throws if the stage has not been built (the scheduler orders stages so
  // that it always has).
  StageResult Get(int stage) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::optional<StageResult>> results_;
};

struct BuildCounters {
  std::atomic<int> steps{0}, cached{0}, executed{0};
};

struct BuildEnv {
  const BuildOptions& options;
  const parser::Dockerfile& dockerfile;
  const std::string& dockerfile_name;
  const BuildContext& context;
  StatCache& stat_cache;
  ImageSource& images;
  StepRuntime& runtime;
  StepCache& cache;
  BuildEvents& events;
  Cancellation& cancel;
  StageResults& results;
  BuildCounters& counters;
  store::Platform platform;  // the target platform
  std::string scratch_dir;   // where ADD downloads go
  // History times; SOURCE_DATE_EPOCH, when set, wins over it.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Called on the stage's thread after a step added a layer to the stage's
  // image (`state` ends with it); may be empty.
  std::function<void(int stage, const ImageState& state)> layer_added;
  // A multi-platform build: the steps the graphs share (step_flights.h),
  // and the platform that starts each step's name ("linux/arm64 ").
  StepFlights* flights = nullptr;
  std::string name_prefix;
};

// Builds one stage. Throws parser::ParseError for Dockerfile errors,
// BuildError for a failing step, runner::Interrupted and runner::Cancelled.
StageResult BuildStage(BuildEnv& env, const parser::Stage& stage);

// The RFC 3339 time a history entry of this build records.
std::string HistoryTime(const BuildEnv& env);

}  // namespace bld::builder
