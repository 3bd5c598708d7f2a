// Running the stages of a build: the DAG of stages, in parallel where the
// Dockerfile allows, each as soon as the stages it uses are built.
//
// A stage starts once every stage it depends on (FROM <stage>, COPY --from,
// RUN --mount from=) has finished, and at most `parallelism` stages run at
// once. The first stage to fail cancels the build: the Cancellation becomes
// readable (the runner kills a RUN in progress on it), stages that have not
// started never start, and running ones stop at their next step. RunStages
// returns once every thread has ended and rethrows that first failure, so
// the error a user sees is the cause, never a cancellation it caused.
//
// Thread-safety: RunStages calls `build` from its own threads, one per
// stage; `build` must be safe to call concurrently for different stages.
// Cancellation may be used from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "store/unique_fd.h"

namespace bld::builder {

// The build-wide stop signal: a flag for steps between actions and a
// descriptor that a poll(2) sees readable, for RUN steps in progress.
class Cancellation {
 public:
  Cancellation();
  void Cancel();
  bool cancelled() const { return cancelled_; }
  // Readable once Cancel was called (runner::StepSpec::cancel_fd).
  int fd() const { return read_.get(); }

 private:
  std::atomic<bool> cancelled_{false};
  store::UniqueFd read_, write_;
};

struct StageNode {
  int index = 0;
  std::vector<int> depends_on;  // indexes of other nodes
};

// Calls build(node.index) for every node, each after its dependencies.
// Throws the first exception a call threw (after cancelling the others).
void RunStages(const std::vector<StageNode>& nodes, int parallelism, Cancellation& cancel,
               const std::function<void(int index)>& build);

}  // namespace bld::builder
