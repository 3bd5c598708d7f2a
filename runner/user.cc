#include "runner/user.h"

#include <grp.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>

#include "runner/system_call.h"
#include "store/error.h"

namespace bld::runner {

namespace {

// runc's range for ids it did not find in the files.
constexpr int64_t kMaxId = INT32_MAX;
// passwd and group files of real images are kilobytes; a hostile image must
// not make the setup read forever.
constexpr size_t kMaxUserDatabaseSize = 16 * 1024 * 1024;

struct PasswdEntry {
  std::string name;
  int64_t uid = 0;
  int64_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  int64_t gid = 0;
  std::vector<std::string> members;
};

// Go's strconv.Atoi, which runc uses: an optional sign and decimal digits.
std::optional<int64_t> ParseNumber(std::string_view text) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Numbers that do not parse read as 0, as in runc.
int64_t NumberOrZero(std::string_view text) { return ParseNumber(text).value_or(0); }

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (true) {
    size_t end = text.find(separator, pos);
    parts.push_back(text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) return parts;
    pos = end + 1;
  }
}

std::string_view TrimSpace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

// The non-empty lines, each split on ':' into at least `fields` parts.
std::vector<std::vector<std::string_view>> Records(std::string_view file, size_t fields) {
  std::vector<std::vector<std::string_view>> records;
  for (std::string_view line : Split(file, '\n')) {
    line = TrimSpace(line);
    if (line.empty()) continue;
    std::vector<std::string_view> parts = Split(line, ':');
    parts.resize(std::max(parts.size(), fields));
    records.push_back(std::move(parts));
  }
  return records;
}

std::vector<PasswdEntry> ParsePasswd(std::string_view file) {
  std::vector<PasswdEntry> entries;
  // name:password:uid:gid:gecos:home:shell
  for (const auto& f : Records(file, 7))
    entries.push_back({std::string(f[0]), NumberOrZero(f[2]), NumberOrZero(f[3]), std::string(f[5])});
  return entries;
}

std::vector<GroupEntry> ParseGroup(std::string_view file) {
  std::vector<GroupEntry> entries;
  // name:password:gid:member,member
  for (const auto& f : Records(file, 4)) {
    GroupEntry entry{std::string(f[0]), NumberOrZero(f[2]), {}};
    if (!f[3].empty())
      for (std::string_view member : Split(f[3], ',')) entry.members.emplace_back(member);
    entries.push_back(std::move(entry));
  }
  return entries;
}

int64_t CheckRange(int64_t id) {
  if (id < 0 || id > kMaxId) throw Error("uids and gids must be in range 0-" + std::to_string(kMaxId));
  return id;
}

}  // namespace

namespace {

// The gids of `--group-add` names and numbers.
std::vector<gid_t> AddedGroups(const std::vector<std::string>& group_add, const std::vector<GroupEntry>& groups) {
  std::vector<gid_t> gids;
  for (const std::string& name : group_add) {
    const GroupEntry* found = nullptr;
    for (const GroupEntry& entry : groups)
      if (entry.name == name) {
        found = &entry;
        break;
      }
    if (found) {
      gids.push_back(static_cast<gid_t>(found->gid));
      continue;
    }
    std::optional<int64_t> gid = ParseNumber(name);
    if (!gid) throw Error("unable to find group " + name + ": no matching entries in group file");
    gids.push_back(static_cast<gid_t>(CheckRange(*gid)));
  }
  return gids;
}

ExecUser ResolveUserAndGroup(std::string_view spec, const std::optional<std::string>& passwd,
                             const std::optional<std::string>& group) {
  std::vector<std::string_view> parts = Split(spec, ':');
  std::string_view user_arg = parts[0];
  std::string_view group_arg = parts.size() > 1 ? parts[1] : std::string_view();
  std::optional<int64_t> uid_arg = ParseNumber(user_arg);
  std::optional<int64_t> gid_arg = ParseNumber(group_arg);

  ExecUser user;
  std::string matched_name;
  const PasswdEntry* match = nullptr;
  std::vector<PasswdEntry> users = ParsePasswd(passwd.value_or(""));
  for (const PasswdEntry& entry : users) {
    bool matches = user_arg.empty() ? entry.uid == 0 : uid_arg ? entry.uid == *uid_arg : entry.name == user_arg;
    if (matches) {
      match = &entry;
      break;
    }
  }
  if (match) {
    matched_name = match->name;
    user.uid = static_cast<uid_t>(match->uid);
    user.gid = static_cast<gid_t>(match->gid);
    user.home = match->home;
  } else if (!user_arg.empty()) {
    if (!uid_arg) throw Error("unable to find user " + std::string(user_arg) + ": no matching entries in passwd file");
    user.uid = static_cast<uid_t>(CheckRange(*uid_arg));
  }

  if (group_arg.empty() && matched_name.empty()) return user;
  std::vector<GroupEntry> groups = ParseGroup(group.value_or(""));
  if (!group_arg.empty()) {
    for (const GroupEntry& entry : groups) {
      if (gid_arg ? entry.gid == *gid_arg : entry.name == group_arg) {
        user.gid = static_cast<gid_t>(entry.gid);
        return user;
      }
    }
    if (!gid_arg) throw Error("unable to find group " + std::string(group_arg) + ": no matching entries in group file");
    user.gid = static_cast<gid_t>(CheckRange(*gid_arg));
    return user;
  }
  for (const GroupEntry& entry : groups)
    for (const std::string& member : entry.members)
      if (member == matched_name) {
        user.groups.push_back(static_cast<gid_t>(entry.gid));
        break;
      }
  return user;
}

}  // namespace

ExecUser ResolveUser(std::string_view spec, const std::optional<std::string>& passwd,
                     const std::optional<std::string>& group, const std::vector<std::string>& group_add) {
  ExecUser user = ResolveUserAndGroup(spec, passwd, group);
  if (group_add.empty()) return user;
  std::vector<gid_t> added = AddedGroups(group_add, ParseGroup(group.value_or("")));
  user.groups.insert(user.groups.end(), added.begin(), added.end());
  return user;
}

ExecUser LookUpUser(std::string_view spec, const std::vector<std::string>& group_add) {
  std::optional<std::string> passwd, group;
  std::string content;
  if (ReadRegularFile("/etc/passwd", kMaxUserDatabaseSize, content)) passwd = content;
  if (ReadRegularFile("/etc/group", kMaxUserDatabaseSize, content)) group = content;
  return ResolveUser(spec, passwd, group, group_add);
}

void SwitchUser(const ExecUser& user) {
  CheckSys(::setgroups(user.groups.size(), user.groups.data()), "set the supplementary groups");
  CheckSys(::setresgid(user.gid, user.gid, user.gid), "set gid " + std::to_string(user.gid));
  CheckSys(::setresuid(user.uid, user.uid, user.uid), "set uid " + std::to_string(user.uid));
}

}  // namespace bld::runner
