// Rendering a build's events: `--progress plain|tty|quiet|json|auto`.
//
// plain is BuildKit's plain output (`#3 [2/5] RUN make`, output lines with
// the step number and elapsed seconds, `#3 CACHED`, `#3 DONE 1.2s`,
// `#3 ERROR: ...`); tty redraws one line per step in place with the running
// step's last output lines and ends with a summary; quiet prints nothing;
// json prints one JSON object per event. Everything goes to stderr.
#pragma once

#include <memory>
#include <string>

#include "builder/build_events.h"

namespace bld::cli {

class ProgressRenderer {
 public:
  virtual ~ProgressRenderer() = default;
  virtual void OnEvent(const builder::BuildEvent& e) = 0;
  // Called once at the end, with whether the build succeeded.
  virtual void Finish(bool ok) = 0;
};

// mode: auto, tty, plain, quiet or json. Throws bld::Error for another.
std::unique_ptr<ProgressRenderer> MakeProgressRenderer(const std::string& mode);

}  // namespace bld::cli
