#include "cli/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "store/error.h"

namespace bld::cli {

namespace {

using builder::BuildEvent;
using Type = BuildEvent::Type;

class PlainRenderer : public ProgressRenderer {
 public:
  void OnEvent(const BuildEvent& e) override {
    switch (e.type) {
      case Type::kStepStarted: std::fprintf(stderr, "\n#%d %s\n", e.vertex, e.name.c_str()); break;
      case Type::kStepCached: std::fprintf(stderr, "#%d CACHED\n", e.vertex); break;
      case Type::kStepOutput: std::fprintf(stderr, "#%d %.3f %s\n", e.vertex, e.elapsed_s, e.text.c_str()); break;
      case Type::kStepDone: std::fprintf(stderr, "#%d DONE %.1fs\n", e.vertex, e.elapsed_s); break;
      case Type::kStepError: std::fprintf(stderr, "#%d ERROR: %s\n", e.vertex, e.text.c_str()); break;
      case Type::kExplain: std::fprintf(stderr, "#%d cache miss: %s\n", e.vertex, e.text.c_str()); break;
      case Type::kWarning: std::fprintf(stderr, "WARNING: %s\n", e.text.c_str()); break;
      case Type::kStepCancelled: std::fprintf(stderr, "#%d CANCELED\n", e.vertex); break;
      case Type::kProcessExited: break;  // DONE follows
    }
    std::fflush(stderr);
  }
  void Finish(bool) override {}
};

class QuietRenderer : public ProgressRenderer {
 public:
  void OnEvent(const BuildEvent&) override {}
  void Finish(bool) override {}
};

class JsonRenderer : public ProgressRenderer {
 public:
  void OnEvent(const BuildEvent& e) override {
    static const char* const kNames[] = {"started", "cached",  "output",    "done",  "error",
                                         "explain", "warning", "cancelled", "exited"};
    nlohmann::json j = {{"event", kNames[static_cast<int>(e.type)]}, {"vertex", e.vertex}, {"name", e.name}};
    if (!e.text.empty()) j["text"] = e.text;
    if (e.type == Type::kStepOutput || e.type == Type::kStepDone || e.type == Type::kStepError ||
        e.type == Type::kStepCancelled || e.type == Type::kProcessExited)
      j["elapsed"] = e.elapsed_s;
    if (e.stage >= 0) j["stage"] = e.stage;
    std::fprintf(stderr, "%s\n", j.dump().c_str());
    std::fflush(stderr);
  }
  void Finish(bool) override {}
};

// Redraws the list of steps in place; a running RUN shows its last lines.
class TtyRenderer : public ProgressRenderer {
 public:
  TtyRenderer() : start_(std::chrono::steady_clock::now()) {}

  void OnEvent(const BuildEvent& e) override {
    if (e.type == Type::kWarning) {
      warnings_.push_back(e.text);
      return;
    }
    Step& s = steps_[e.vertex];
    if (!e.name.empty()) s.name = e.name;
    switch (e.type) {
      case Type::kStepStarted: s.state = "running"; break;
      case Type::kStepCached: s.state = "CACHED"; break;
      case Type::kStepOutput:
        s.tail.push_back(e.text);
        if (s.tail.size() > kTailLines) s.tail.pop_front();
        break;
      case Type::kStepDone:
        s.state = "DONE";
        s.elapsed = e.elapsed_s;
        s.tail.clear();
        break;
      case Type::kStepError:
        s.state = "ERROR";
        s.elapsed = e.elapsed_s;
        break;
      case Type::kStepCancelled:
        s.state = "CANCELED";
        s.elapsed = e.elapsed_s;
        break;
      case Type::kExplain: s.explain = e.text; break;
      case Type::kWarning:
      case Type::kProcessExited: break;
    }
    auto now = std::chrono::steady_clock::now();
    // Redraw at most every 100 ms, except when a step ends.
    if (e.type == Type::kStepOutput && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    Draw();
  }

  void Finish(bool ok) override {
    Draw();
    size_t cached = 0;
    for (const auto& [v, s] : steps_) cached += s.state == "CACHED";
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "%s %zu steps, %zu cached, in %.1fs\n", ok ? "Built:" : "Failed:", steps_.size(), cached,
                 secs);
    for (const std::string& w : warnings_) std::fprintf(stderr, "WARNING: %s\n", w.c_str());
  }

 private:
  static constexpr size_t kTailLines = 6;
  struct Step {
    std::string name, state, explain;
    double elapsed = 0;
    std::deque<std::string> tail;
  };

  void Draw() {
    // Move up over what was drawn last time and clear it.
    for (int i = 0; i < drawn_lines_; ++i) std::fputs("\x1b[1A\x1b[2K", stderr);
    int lines = 0;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    size_t done = 0;
    for (const auto& [v, s] : steps_) done += s.state != "running";
    std::fprintf(stderr, "[+] Building %.1fs (%zu/%zu)\n", secs, done, steps_.size());
    ++lines;
    for (const auto& [v, s] : steps_) {
      std::string right = s.state == "running" ? "" : s.state == "CACHED" ? "CACHED" : s.state;
      if (s.state == "DONE" || s.state == "ERROR" || s.state == "CANCELED") {
        char buf[32];
        std::snprintf(buf, sizeof buf, " %.1fs", s.elapsed);
        right += buf;
      }
      std::fprintf(stderr, " => %s %s\n", s.name.c_str(), right.c_str());
      ++lines;
      if (!s.explain.empty() && s.state != "CACHED") {
        std::fprintf(stderr, " => => cache miss: %s\n", s.explain.c_str());
        ++lines;
      }
      if (s.state == "running" || s.state == "ERROR") {
        for (const std::string& t : s.tail) {
          std::fprintf(stderr, " => => # %s\n", t.c_str());
          ++lines;
        }
      }
    }
    drawn_lines_ = lines;
    std::fflush(stderr);
  }

  std::map<int, Step> steps_;
  std::vector<std::string> warnings_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  int drawn_lines_ = 0;
};

}  // namespace

std::unique_ptr<ProgressRenderer> MakeProgressRenderer(const std::string& mode) {
  std::string m = mode;
  if (m == "auto") m = isatty(STDERR_FILENO) ? "tty" : "plain";
  if (m == "plain") return std::make_unique<PlainRenderer>();
  if (m == "tty") return std::make_unique<TtyRenderer>();
  if (m == "quiet") return std::make_unique<QuietRenderer>();
  if (m == "json") return std::make_unique<JsonRenderer>();
  throw Error("unknown --progress mode \"" + mode + "\" (use auto, tty, plain, quiet or json)");
}

}  // namespace bld::cli
