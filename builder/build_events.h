// What a build reports while it runs. The builder never prints: it emits
// these events and cli/ renders them (plain, tty, quiet or json).
//
// BuildEvents is the one place events are made: it numbers the steps in the
// order they start (BuildKit's #N), times them, and serializes the calls to
// the sink, so a sink needs no locking of its own; events of parallel stages
// interleave.
//
// Thread-safety: BuildEvents may be used from any number of threads; a
// StepProgress belongs to the thread running its step.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

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
    kProcessExited,  // a RUN's process ended (elapsed_s: when); the layer comes next
  };
  Type type;
  int vertex = 0;         // BuildKit's #N: one number per step, in start order
  std::string name;       // "[2/5] RUN make", "[build 1/3] FROM docker.io/library/busybox"
  std::string text;
  double elapsed_s = 0;   // seconds since the step started (output, done, error)
  int stage = -1;
};

using EventSink = std::function<void(const BuildEvent&)>;

class BuildEvents;

// The events of one step, from its start to its end.
class StepProgress {
 public:
  const std::string& name() const { return name_; }
  int vertex() const { return vertex_; }
  // Seconds since the step started.
  double elapsed() const;

  void Output(std::string_view line);
  void Explain(const std::string& why);
  void Cached();
  void Done();
  void Error(const std::string& what);
  void Cancelled();
  // A RUN's process ended at `when`: what is left of the step is its layer.
  void ProcessExited(std::chrono::steady_clock::time_point when);

 private:
  friend class BuildEvents;
  StepProgress(BuildEvents& events, int vertex, std::string name, int stage,
               std::chrono::steady_clock::time_point started);
  void Emit(BuildEvent::Type type, std::string text, double elapsed);

  BuildEvents& events_;
  int vertex_;
  std::string name_;
  int stage_;
  std::chrono::steady_clock::time_point start_;
};

class BuildEvents {
 public:
  explicit BuildEvents(EventSink sink) : sink_(std::move(sink)) {}

  // A step starts: the next vertex number, and kStepStarted. Its elapsed
  // time counts from `started` (default: now).
  StepProgress StartStep(std::string name, int stage,
                         std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now());
  void Warning(std::string text);

 private:
  friend class StepProgress;
  void Emit(const BuildEvent& event);

  EventSink sink_;
  std::mutex mu_;
  int vertices_ = 0;  // guarded by mu_
};

}  // namespace bld::builder
