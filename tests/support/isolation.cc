#include "support/isolation.h"

#include <unistd.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace bld::testing {

namespace fs = std::filesystem;

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every process's PID, from /proc.
std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

// The arguments of a live process; empty for a zombie or one that is gone.
std::vector<std::string> Argv(pid_t pid) {
  std::string raw = ReadWhole("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> argv;
  for (size_t start = 0; start < raw.size();) {
    size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    argv.push_back(raw.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

// The parent of `pid` (field 4 of /proc/<pid>/stat, after the command in
// parentheses), 0 if it is gone.
pid_t ParentOf(pid_t pid) {
  std::string stat = ReadWhole("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 1));
  std::string state;
  pid_t parent = 0;
  rest >> state >> parent;
  return state == "Z" ? 0 : parent;
}

}  // namespace

std::vector<std::string> MountPointsUnder(const std::string& dir) {
  std::vector<std::string> found;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    // ID, parent ID, major:minor, root, mount point, ...
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    std::string path = Unescape(mount_point);
    if (path == dir || path.starts_with(dir + "/")) found.push_back(path);
  }
  return found;
}

std::string PidNamespaceOf(pid_t pid) {
  char target[PATH_MAX];
  std::string link = "/proc/" + std::to_string(pid) + "/ns/pid";
  ssize_t n = ::readlink(link.c_str(), target, sizeof target);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
}

std::vector<pid_t> ProcessesInPidNamespace(const std::string& ns, const std::string& argv0) {
  std::vector<pid_t> found;
  if (ns.empty()) return found;
  for (pid_t pid : AllPids()) {
    if (PidNamespaceOf(pid) != ns) continue;
    std::vector<std::string> argv = Argv(pid);
    if (argv.empty()) continue;
    if (argv0.empty() || argv[0] == argv0) found.push_back(pid);
  }
  return found;
}

std::vector<pid_t> DescendantsOf(pid_t ancestor) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (pid_t pid : AllPids())
    if (pid_t parent = ParentOf(pid)) children[parent].push_back(pid);
  std::vector<pid_t> found;
  std::vector<pid_t> todo = {ancestor};
  while (!todo.empty()) {
    pid_t pid = todo.back();
    todo.pop_back();
    for (pid_t child : children[pid]) {
      found.push_back(child);
      todo.push_back(child);
    }
  }
  return found;
}

std::vector<pid_t> ProcessesWhere(const std::function<bool(const std::string& command_line)>& match) {
  std::vector<pid_t> found;
  for (pid_t pid : AllPids()) {
    std::vector<std::string> argv = Argv(pid);
    if (argv.empty()) continue;
    std::string line;
    for (const std::string& arg : argv) line += (line.empty() ? "" : " ") + arg;
    if (match(line)) found.push_back(pid);
  }
  return found;
}

}  // namespace bld::testing
