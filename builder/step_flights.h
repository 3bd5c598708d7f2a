// Steps that several graphs of one build share run once.
//
// A multi-platform build runs one graph of stages per platform, in
// parallel. A step whose key is the same in two graphs (a stage `FROM
// --platform=$BUILDPLATFORM` that does not use TARGET* args, a COPY of the
// same files onto the same base) has the same result in both: the first
// graph to miss it runs it, and a graph that reaches the same key meanwhile
// or later waits for that result and takes it as a cache hit, as the
// singleflight of Go's x/sync does for calls. The build cache alone could
// not do this: its records are written when the build ends.
//
// If the run throws, every waiter throws runner::Cancelled: the one failure
// is reported once, by the graph that ran the step, and cancels the build.
//
// Thread-safety: all methods may be called from several threads.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "builder/image_state.h"

namespace bld::builder {

class StepFlights {
 public:
  struct Outcome {
    ImageState state;
    bool ran = false;  // this call ran the step; false: another graph did
  };

  // The state after the step with `key`: `run`'s result, or that of the
  // call that ran it for another graph of this build.
  Outcome Once(const std::string& key, const std::function<ImageState()>& run);

 private:
  struct Flight {
    bool done = false;
    bool failed = false;
    ImageState state;
  };
  std::mutex mu_;
  std::condition_variable landed_;
  std::map<std::string, Flight> flights_;
};

}  // namespace bld::builder
