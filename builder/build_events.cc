#include "builder/build_events.h"

namespace bld::builder {

StepProgress::StepProgress(BuildEvents& events, int vertex, std::string name, int stage,
                           std::chrono::steady_clock::time_point started)
    : events_(events), vertex_(vertex), name_(std::move(name)), stage_(stage), start_(started) {}

double StepProgress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void StepProgress::Emit(BuildEvent::Type type, std::string text, double elapsed) {
  events_.Emit({type, vertex_, name_, std::move(text), elapsed, stage_});
}

void StepProgress::Output(std::string_view line) { Emit(BuildEvent::Type::kStepOutput, std::string(line), elapsed()); }
void StepProgress::Explain(const std::string& why) { Emit(BuildEvent::Type::kExplain, why, 0); }
void StepProgress::Cached() { Emit(BuildEvent::Type::kStepCached, "", elapsed()); }
void StepProgress::Done() { Emit(BuildEvent::Type::kStepDone, "", elapsed()); }
void StepProgress::Error(const std::string& what) { Emit(BuildEvent::Type::kStepError, what, elapsed()); }
void StepProgress::Cancelled() { Emit(BuildEvent::Type::kStepCancelled, "", elapsed()); }
void StepProgress::ProcessExited(std::chrono::steady_clock::time_point when) {
  Emit(BuildEvent::Type::kProcessExited, "", std::chrono::duration<double>(when - start_).count());
}

StepProgress BuildEvents::StartStep(std::string name, int stage, std::chrono::steady_clock::time_point started) {
  // Numbered and announced under one lock, so that vertices start in order.
  std::lock_guard lock(mu_);
  StepProgress step(*this, ++vertices_, std::move(name), stage, started);
  if (sink_) sink_({BuildEvent::Type::kStepStarted, step.vertex_, step.name_, "", 0, stage});
  return step;
}

void BuildEvents::Warning(std::string text) { Emit({BuildEvent::Type::kWarning, 0, "", std::move(text)}); }

void BuildEvents::Emit(const BuildEvent& event) {
  std::lock_guard lock(mu_);
  if (sink_) sink_(event);
}

}  // namespace bld::builder
