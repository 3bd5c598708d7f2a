#include "builder/step_flights.h"

#include "runner/interrupt.h"

namespace bld::builder {

StepFlights::Outcome StepFlights::Once(const std::string& key, const std::function<ImageState()>& run) {
  std::unique_lock lock(mu_);
  auto [it, first] = flights_.try_emplace(key);
  Flight& flight = it->second;  // std::map nodes stay where they are
  if (!first) {
    landed_.wait(lock, [&] { return flight.done; });
    if (flight.failed) throw runner::Cancelled();
    return {flight.state, false};
  }
  lock.unlock();
  ImageState state;
  try {
    state = run();
  } catch (...) {
    lock.lock();
    flight.done = flight.failed = true;
    landed_.notify_all();
    throw;
  }
  lock.lock();
  flight.state = state;
  flight.done = true;
  landed_.notify_all();
  return {std::move(state), true};
}

}  // namespace bld::builder
