#include "builder/stage_scheduler.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <semaphore>
#include <thread>

#include "store/error.h"

namespace bld::builder {

Cancellation::Cancellation() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw SysError("cannot create a pipe for the build");
  read_ = store::UniqueFd(fds[0]);
  write_ = store::UniqueFd(fds[1]);
}

void Cancellation::Cancel() {
  if (cancelled_.exchange(true)) return;
  char byte = 1;
  [[maybe_unused]] ssize_t n = ::write(write_.get(), &byte, 1);
}

namespace {

// What the stage threads share.
class StageBoard {
 public:
  explicit StageBoard(Cancellation& cancel) : cancel_(cancel) {}

  // Waits until every stage of `deps` is done; false if the build failed.
  bool WaitFor(const std::vector<int>& deps) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] {
      return failed_ || std::all_of(deps.begin(), deps.end(), [&](int d) { return done_.count(d) > 0; });
    });
    return !failed_;
  }

  void Finished(int index) {
    std::lock_guard lock(mu_);
    done_[index] = true;
    changed_.notify_all();
  }

  void Failed(std::exception_ptr error) {
    std::lock_guard lock(mu_);
    if (!first_error_) {
      first_error_ = error;
      cancel_.Cancel();
    }
    failed_ = true;
    changed_.notify_all();
  }

  void RethrowFirstError() {
    if (first_error_) std::rethrow_exception(first_error_);
  }

 private:
  Cancellation& cancel_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<int, bool> done_;
  bool failed_ = false;
  std::exception_ptr first_error_;
};

}  // namespace

void RunStages(const std::vector<StageNode>& nodes, int parallelism, Cancellation& cancel,
               const std::function<void(int index)>& build) {
  StageBoard board(cancel);
  std::counting_semaphore<> slots(std::max(1, parallelism));
  std::vector<std::thread> threads;
  threads.reserve(nodes.size());
  for (const StageNode& node : nodes) {
    threads.emplace_back([&, node] {
      try {
        if (!board.WaitFor(node.depends_on)) return;
        slots.acquire();
        struct Release {
          std::counting_semaphore<>& slots;
          ~Release() { slots.release(); }
        } release{slots};
        if (cancel.cancelled()) return;
        build(node.index);
        board.Finished(node.index);
      } catch (...) {
        board.Failed(std::current_exception());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  board.RethrowFirstError();
}

}  // namespace bld::builder
