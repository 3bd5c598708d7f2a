// The bounded parallelism of transfers.
#include "registry/parallel.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using bld::registry::ParallelFor;

TEST_CASE("every item runs once, on no more threads than asked") {
  std::atomic<bool> cancel{false};
  std::mutex mutex;
  std::set<size_t> done;
  std::set<std::thread::id> threads;
  std::atomic<int> running{0}, most{0};
  ParallelFor(20, 3, cancel, [&](size_t i) {
    int now = ++running;
    for (int seen = most; now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    --running;
    std::lock_guard lock(mutex);
    done.insert(i);
    threads.insert(std::this_thread::get_id());
  });
  CHECK(done.size() == 20);
  CHECK(most <= 3);
  CHECK(threads.size() <= 3);
  CHECK_FALSE(cancel);
}

TEST_CASE("the first failure cancels the rest and is rethrown") {
  std::atomic<bool> cancel{false};
  std::atomic<int> started{0};
  CHECK_THROWS_WITH(ParallelFor(100, 2, cancel,
                                [&](size_t i) {
                                  ++started;
                                  if (i == 3) throw std::runtime_error("item 3 failed");
                                  std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                }),
                    "item 3 failed");
  CHECK(cancel);
  CHECK(started < 100);
}

TEST_CASE("nothing to do runs nothing") {
  std::atomic<bool> cancel{false};
  ParallelFor(0, 3, cancel, [](size_t) { FAIL("ran"); });
}
