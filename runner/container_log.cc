#include "runner/container_log.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>

#include "store/timestamp.h"

namespace bld::runner {

namespace {

constexpr mode_t kLogMode = 0640;

std::string_view StreamName(LogStream stream) { return stream == LogStream::kStdout ? "stdout" : "stderr"; }

}  // namespace

LogWriter::LogWriter(const std::string& path)
    : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, kLogMode)) {
  if (!fd_) throw RunnerSysError("open the container log " + path);
}

LogWriter::~LogWriter() {
  try {
    Flush();
  } catch (const Error&) {
    // The container is gone either way; what it said last is lost.
  }
}

void LogWriter::WriteEntry(LogStream stream, std::string_view line) {
  nlohmann::ordered_json entry = {
      {"log", std::string(line)},
      {"stream", StreamName(stream)},
      {"time", store::FormatTimestamp(std::chrono::system_clock::now())},
  };
  // One write per entry: O_APPEND keeps it whole for a concurrent reader.
  // Output that is not UTF-8 is replaced rather than refused.
  WriteAll(fd_.get(), entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
           "write the container log " + path_);
}

void LogWriter::Append(LogStream stream, std::string_view data) {
  std::string& pending = pending_[static_cast<int>(stream)];
  pending.append(data);
  size_t start = 0;
  for (size_t newline; (newline = pending.find('\n', start)) != std::string::npos; start = newline + 1)
    WriteEntry(stream, std::string_view(pending).substr(start, newline + 1 - start));
  pending.erase(0, start);
}

void LogWriter::Flush() {
  for (LogStream stream : {LogStream::kStdout, LogStream::kStderr}) {
    std::string& pending = pending_[static_cast<int>(stream)];
    if (!pending.empty()) WriteEntry(stream, pending);
    pending.clear();
  }
}

size_t ReadLog(const std::string& path, size_t offset, long tail, const std::function<void(const LogEntry&)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return offset;
  in.seekg(static_cast<std::streamoff>(offset));
  std::deque<LogEntry> kept;
  std::string line;
  size_t position = offset;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a line still being written
    position += line.size() + 1;
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_discarded() || !entry.is_object()) continue;
    LogEntry parsed{entry.value("stream", "stdout") == "stderr" ? LogStream::kStderr : LogStream::kStdout,
                    entry.value("log", "")};
    if (tail < 0) {
      fn(parsed);
      continue;
    }
    kept.push_back(std::move(parsed));
    if (kept.size() > static_cast<size_t>(tail)) kept.pop_front();
  }
  for (const LogEntry& entry : kept) fn(entry);
  return position;
}

}  // namespace bld::runner
