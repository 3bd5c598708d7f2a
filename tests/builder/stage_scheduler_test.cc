// The stage scheduler: the DAG of stages, run in parallel where allowed,
// stopped at the first failure.
#include <catch2/catch.hpp>

#include <poll.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "builder/stage_scheduler.h"

using namespace bld;
using builder::Cancellation;
using builder::RunStages;
using builder::StageNode;

namespace {

// Records the order in which stages start and finish.
struct Journal {
  std::mutex mu;
  std::vector<std::string> entries;
  void Add(std::string e) {
    std::lock_guard lock(mu);
    entries.push_back(std::move(e));
  }
  size_t Position(const std::string& e) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::find(entries.begin(), entries.end(), e) - entries.begin());
  }
};

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

}  // namespace

TEST_CASE("a stage starts only after every stage it depends on has finished") {
  Journal j;
  Cancellation cancel;
  // 2 uses 0 and 1; 3 uses 2.
  std::vector<StageNode> nodes = {{0, {}}, {1, {}}, {2, {0, 1}}, {3, {2}}};
  RunStages(nodes, 4, cancel, [&](int i) {
    j.Add("start " + std::to_string(i));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    j.Add("end " + std::to_string(i));
  });
  CHECK(j.Position("end 0") < j.Position("start 2"));
  CHECK(j.Position("end 1") < j.Position("start 2"));
  CHECK(j.Position("end 2") < j.Position("start 3"));
  CHECK(j.entries.size() == 8);
}

TEST_CASE("the scheduler runs independent stages at the same time") {
  Cancellation cancel;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  // Each stage waits for the other: only concurrent execution finishes.
  RunStages({{0, {}}, {1, {}}}, 2, cancel, [&](int) {
    std::unique_lock lock(mu);
    ++arrived;
    cv.notify_all();
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return arrived == 2; }));
  });
  CHECK(arrived == 2);
}

TEST_CASE("no more stages than the parallelism run at once") {
  Cancellation cancel;
  std::atomic<int> running{0}, most{0};
  std::vector<StageNode> nodes;
  for (int i = 0; i < 6; ++i) nodes.push_back({i, {}});
  RunStages(nodes, 2, cancel, [&](int) {
    int now = ++running;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    --running;
  });
  CHECK(most.load() <= 2);
}

TEST_CASE("the first failure cancels the build and is the error rethrown") {
  Cancellation cancel;
  std::atomic<bool> dependent_ran{false};
  std::atomic<bool> saw_cancel{false};
  std::atomic<bool> one_started{false};
  // 0 fails once 1 runs beside it; 1 sees the cancellation; 2 depends on 0.
  std::vector<StageNode> nodes = {{0, {}}, {1, {}}, {2, {0}}};
  auto build = [&](int i) {
    if (i == 0) {
      while (!one_started) std::this_thread::yield();
      throw std::runtime_error("stage 0 broke");
    }
    if (i == 1) {
      one_started = true;
      for (int n = 0; n < 1000 && !Readable(cancel.fd()); ++n) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      saw_cancel = Readable(cancel.fd());
      throw std::runtime_error("cancelled by stage 0");
    }
    dependent_ran = true;
  };
  REQUIRE_THROWS_WITH(RunStages(nodes, 3, cancel, build), "stage 0 broke");
  CHECK(cancel.cancelled());
  CHECK(saw_cancel);
  CHECK_FALSE(dependent_ran);
}

TEST_CASE("a stage that has not started when the build is cancelled never starts") {
  Cancellation cancel;
  std::atomic<int> started{0};
  // One slot: 0 fails while 1 waits for the slot.
  REQUIRE_THROWS(RunStages({{0, {}}, {1, {}}}, 1, cancel, [&](int) {
    ++started;
    throw std::runtime_error("failed");
  }));
  CHECK(started == 1);
}
