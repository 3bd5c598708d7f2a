#include "runner/output_lines.h"

namespace bld::runner {

OutputLines::OutputLines(LineCallback on_line, size_t tail_size)
    : on_line_(std::move(on_line)), tail_size_(tail_size) {}

void OutputLines::Append(std::string_view data) {
  while (!data.empty()) {
    size_t newline = data.find('\n');
    size_t room = kMaxLineLength - partial_.size();
    if (newline == std::string_view::npos || newline > room) {
      size_t take = std::min(data.size(), room);
      partial_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (partial_.size() == kMaxLineLength) {
        Emit(partial_);
        partial_.clear();
      }
      continue;
    }
    if (partial_.empty()) {
      Emit(data.substr(0, newline));
    } else {
      partial_.append(data.substr(0, newline));
      Emit(partial_);
      partial_.clear();
    }
    data.remove_prefix(newline + 1);
  }
}

void OutputLines::Finish() {
  if (partial_.empty()) return;
  Emit(partial_);
  partial_.clear();
}

std::vector<std::string> OutputLines::Tail() const { return {tail_.begin(), tail_.end()}; }

void OutputLines::Emit(std::string_view line) {
  if (on_line_) on_line_(line);
  if (tail_size_ == 0) return;
  if (tail_.size() == tail_size_) tail_.pop_front();
  tail_.emplace_back(line);
}

}  // namespace bld::runner
