// A container's output, kept for `bld logs`: <root>/containers/<id>/log.
//
// The format is Docker's json-file log, one JSON object per line of output:
//   {"log":"Hello\n","stream":"stdout","time":"2026-01-01T00:00:00.123Z"}
// so stdout and stderr stay apart (logs writes each to its own stream), the
// order of lines across both is kept, and `--tail N` counts lines without
// reading output back through a terminal emulator. A line still open when
// the container ends is written without its "\n".
//
// Thread safety: a LogWriter belongs to one thread (the monitor's); ReadLog
// may run in any process while the log is written, and sees whole lines.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "runner/system_call.h"

namespace bld::runner {

enum class LogStream { kStdout, kStderr };

class LogWriter {
 public:
  // Creates (or appends to) the log at `path`.
  explicit LogWriter(const std::string& path);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Output as it came; complete lines are written at once.
  void Append(LogStream stream, std::string_view data);
  // Writes the lines still open.
  void Flush();

 private:
  void WriteEntry(LogStream stream, std::string_view line);

  std::string path_;
  UniqueFd fd_;
  std::string pending_[2];
};

struct LogEntry {
  LogStream stream;
  std::string text;  // the line with its "\n", if it had one
};

// Calls `fn` with the entries of the log at `path` from byte `offset` on, the
// last `tail` lines only when tail >= 0; returns the offset after the last
// whole line read, to continue from (`logs -f`).
size_t ReadLog(const std::string& path, size_t offset, long tail, const std::function<void(const LogEntry&)>& fn);

}  // namespace bld::runner
