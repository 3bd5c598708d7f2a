// Build events: numbered in start order, timed, delivered one at a time.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "builder/build_events.h"

using namespace bld;
using builder::BuildEvent;
using Type = BuildEvent::Type;

TEST_CASE("steps are numbered in the order they start") {
  std::vector<BuildEvent> seen;
  builder::BuildEvents events([&](const BuildEvent& e) { seen.push_back(e); });
  builder::StepProgress a = events.StartStep("[1/2] FROM x", 0);
  builder::StepProgress b = events.StartStep("[2/2] RUN y", 0);
  b.Output("hello");
  b.Done();
  a.Cached();
  REQUIRE(seen.size() == 5);
  CHECK(seen[0].type == Type::kStepStarted);
  CHECK(seen[0].vertex == 1);
  CHECK(seen[1].vertex == 2);
  CHECK(seen[2].type == Type::kStepOutput);
  CHECK(seen[2].text == "hello");
  CHECK(seen[2].vertex == 2);
  CHECK(seen[3].type == Type::kStepDone);
  CHECK(seen[4].type == Type::kStepCached);
  CHECK(seen[4].name == "[1/2] FROM x");
}

TEST_CASE("a step's elapsed time counts from when it started") {
  std::vector<BuildEvent> seen;
  builder::BuildEvents events([&](const BuildEvent& e) { seen.push_back(e); });
  auto started = std::chrono::steady_clock::now() - std::chrono::seconds(3);
  events.StartStep("[1/1] FROM pulled", 0, started).Done();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].elapsed_s >= 3.0);
}

TEST_CASE("events of parallel steps reach the sink one at a time") {
  std::atomic<int> inside{0}, overlapped{0}, count{0};
  builder::BuildEvents events([&](const BuildEvent&) {
    if (++inside > 1) ++overlapped;
    ++count;
    std::this_thread::yield();
    --inside;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) events.StartStep("step", t).Output("line");
    });
  for (std::thread& t : threads) t.join();
  CHECK(overlapped == 0);
  CHECK(count == 4 * 200 * 2);
}

TEST_CASE("warnings carry no step number") {
  std::vector<BuildEvent> seen;
  builder::BuildEvents events([&](const BuildEvent& e) { seen.push_back(e); });
  events.Warning("Dockerfile:3: empty continuation line");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].type == Type::kWarning);
  CHECK(seen[0].vertex == 0);
}
