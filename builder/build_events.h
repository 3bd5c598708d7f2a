// What a build reports while it runs. The builder never prints: it emits
// these events and cli/ renders them (plain, tty, quiet or json).
//
// Thread-safety: the builder serializes calls to the sink, so a sink needs
// no locking of its own; events of parallel stages interleave.
#pragma once

#include <functional>
#include <string>

namespace bld::builder {

struct BuildEvent {
  enum class Type {
    kStepStarted,    // a step begins (name set)
    kStepCached,     // a step was a cache hit
    kStepOutput,     // one line of a RUN's output (text)
    kStepDone,       // a step finished (elapsed_s)
    kStepError,      // a step failed (text: the error)
    kExplain,        // why a step missed the cache (text)
    kWarning,        // a Dockerfile warning (text)
    kStepCancelled,  // a step stopped because another failed (elapsed_s)
  };
  Type type;
  int vertex = 0;         // BuildKit's #N: one number per step, in start order
  std::string name;       // "[2/5] RUN make", "[build 1/3] FROM docker.io/library/busybox"
  std::string text;
  double elapsed_s = 0;   // seconds since the step started (output, done, error)
  int stage = -1;
};

using EventSink = std::function<void(const BuildEvent&)>;

}  // namespace bld::builder
