// A container's output, cut into lines as it arrives: each line goes to the
// caller at once (the build's progress display), and the last few are kept
// for the error report of a failing RUN ("exit code 1, last output lines:").
//
// Lines end at '\n', which is not part of them; what follows the last '\n'
// is a line too when the output ends (Finish). A line that grows past
// kMaxLineLength without a newline (a progress bar redrawn with '\r', binary
// junk) is cut there, so one line never holds more than that in memory.
//
// Thread safety: an OutputLines belongs to one thread at a time; the callback
// is called on that thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace bld::runner {

class OutputLines {
 public:
  using LineCallback = std::function<void(std::string_view line)>;
  static constexpr size_t kMaxLineLength = 64 * 1024;

  // `on_line` may be empty; `tail_size` lines are kept.
  OutputLines(LineCallback on_line, size_t tail_size);

  void Append(std::string_view data);
  // Delivers the last line if the output did not end with '\n'.
  void Finish();
  // The last `tail_size` lines, oldest first.
  std::vector<std::string> Tail() const;

 private:
  void Emit(std::string_view line);

  LineCallback on_line_;
  size_t tail_size_;
  std::string partial_;
  std::deque<std::string> tail_;
};

}  // namespace bld::runner
