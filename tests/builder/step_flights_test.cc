// Steps the graphs of a multi-platform build share run once
// (builder/step_flights.h).
#include "builder/step_flights.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "runner/interrupt.h"

using bld::builder::ImageState;
using bld::builder::StepFlights;

namespace {

ImageState StateNamed(const std::string& name) {
  ImageState s;
  s.config.config.env = {"STEP=" + name};
  return s;
}

}  // namespace

TEST_CASE("a step two graphs reach at once runs once, and both get its result") {
  StepFlights flights;
  std::atomic<int> runs{0};
  std::atomic<bool> second_waiting{false};
  StepFlights::Outcome first, second;
  std::thread a([&] {
    first = flights.Once("k", [&] {
      ++runs;
      // Still running when the other graph asks for the same key.
      while (!second_waiting) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return StateNamed("ran");
    });
  });
  while (runs == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread b([&] {
    second_waiting = true;
    second = flights.Once("k", [&] {
      ++runs;
      return StateNamed("ran twice");
    });
  });
  a.join();
  b.join();
  CHECK(runs == 1);
  CHECK(first.ran);
  CHECK_FALSE(second.ran);
  CHECK(second.state.config.config.env == first.state.config.config.env);
  // A graph that reaches it after it landed takes it too.
  StepFlights::Outcome later = flights.Once("k", [&] {
    ++runs;
    return StateNamed("late");
  });
  CHECK(runs == 1);
  CHECK(later.state.config.config.env == std::vector<std::string>{"STEP=ran"});
}

TEST_CASE("steps with different keys each run") {
  StepFlights flights;
  CHECK(flights.Once("a", [] { return StateNamed("a"); }).ran);
  CHECK(flights.Once("b", [] { return StateNamed("b"); }).ran);
}

TEST_CASE("a shared step that fails fails its graph and cancels the waiters, reported once") {
  StepFlights flights;
  CHECK_THROWS_WITH(flights.Once("k", []() -> ImageState { throw std::runtime_error("step failed"); }),
                    "step failed");
  CHECK_THROWS_AS(flights.Once("k", [] { return StateNamed("again"); }), bld::runner::Cancelled);
}
