#include "runner/root_path.h"

#include <algorithm>
#include <vector>

#include "store/error.h"

namespace bld::runner {

namespace {

// Linux's own limit on symlinks followed while resolving one path.
constexpr int kMaxSymlinks = 40;

std::string Joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

}  // namespace

std::vector<std::string> PathComponents(std::string_view path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = std::min(path.find('/', pos), path.size());
    if (end > pos) parts.emplace_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

std::string ResolveInRoot(std::string_view path, bool follow_last, const LinkReader& link_of, std::string_view what) {
  std::vector<std::string> todo = PathComponents(path);
  std::reverse(todo.begin(), todo.end());
  std::vector<std::string> done;
  int links = 0;
  while (!todo.empty()) {
    std::string c = todo.back();
    todo.pop_back();
    if (c == ".") continue;
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(c);
    if (todo.empty() && !follow_last) break;
    std::optional<std::string> target = link_of(Joined(done));
    if (!target) continue;
    if (++links > kMaxSymlinks) throw Error("too many levels of symbolic links in " + std::string(what));
    done.pop_back();
    if (target->starts_with("/")) done.clear();
    std::vector<std::string> parts = PathComponents(*target);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo.push_back(*it);
  }
  return Joined(done);
}

}  // namespace bld::runner
