#include "runner/container_security.h"

#include <sys/mount.h>
#include <sys/resource.h>

#include <charconv>
#include <map>
#include <mutex>

#include "runner/seccomp_cache.h"
#include "runner/system_call.h"

namespace bld::runner {

namespace {

using nlohmann::json;

// Seccomp profiles are tens of KiB; a file far larger is not one.
constexpr size_t kMaxProfileSize = 4 << 20;
constexpr std::string_view kNoNewPrivileges = "no-new-privileges";

// go-units' names ("as" is left out there too: the init could not start
// under a small address-space limit).
struct UlimitName {
  const char* name;
  int resource;
};
constexpr UlimitName kUlimits[] = {
    {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},       {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},   {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},     {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},       {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};

struct TmpfsFlag {
  const char* name;
  unsigned long flag;
  bool set;
};
constexpr TmpfsFlag kTmpfsFlags[] = {
    {"ro", MS_RDONLY, true},          {"rw", MS_RDONLY, false},         {"suid", MS_NOSUID, false},
    {"nosuid", MS_NOSUID, true},      {"dev", MS_NODEV, false},         {"nodev", MS_NODEV, true},
    {"exec", MS_NOEXEC, false},       {"noexec", MS_NOEXEC, true},      {"sync", MS_SYNCHRONOUS, true},
    {"async", MS_SYNCHRONOUS, false}, {"dirsync", MS_DIRSYNC, true},    {"atime", MS_NOATIME, false},
    {"noatime", MS_NOATIME, true},    {"diratime", MS_NODIRATIME, false}, {"nodiratime", MS_NODIRATIME, true},
    {"relatime", MS_RELATIME, true},  {"norelatime", MS_RELATIME, false}, {"strictatime", MS_STRICTATIME, true},
    {"nostrictatime", MS_STRICTATIME, false},
};
// tmpfs's own options, passed to the kernel as they are.
constexpr std::string_view kTmpfsData[] = {"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"};
// Docker's flags for every --tmpfs, before the user's.
constexpr unsigned long kTmpfsDefaultFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

std::optional<int64_t> ParseLimit(std::string_view text) {
  if (text == "infinity") return -1;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

int UlimitResource(const std::string& name) {
  for (const UlimitName& u : kUlimits)
    if (name == u.name) return u.resource;
  return -1;
}

rlim_t RlimValue(int64_t value) { return value < 0 ? RLIM_INFINITY : static_cast<rlim_t>(value); }

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (size_t pos = 0;;) {
    size_t end = text.find(separator, pos);
    parts.push_back(text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) return parts;
    pos = end + 1;
  }
}

bool ParseBool(std::string_view value, bool& out) {
  if (value == "true" || value == "1") return out = true, true;
  if (value == "false" || value == "0") return out = false, true;
  return false;
}

std::string ReadProfile(const std::string& path) {
  std::string text;
  errno = ENOENT;
  if (!ReadRegularFile(path, kMaxProfileSize, text)) throw SysError("opening seccomp profile (" + path + ") failed");
  ParseSeccompProfile(text, path);
  // Stored compact, as Docker stores a profile it was given.
  return json::parse(text).dump();
}

std::string SeccompModeName(SeccompMode mode) {
  switch (mode) {
    case SeccompMode::kDefault:
      return "default";
    case SeccompMode::kUnconfined:
      return "unconfined";
    case SeccompMode::kProfile:
      return "profile";
  }
  return "default";
}

SeccompMode SeccompModeOf(const std::string& name) {
  if (name == "default") return SeccompMode::kDefault;
  if (name == "unconfined") return SeccompMode::kUnconfined;
  if (name == "profile") return SeccompMode::kProfile;
  throw Error("unknown seccomp mode in a container record: " + name);
}

// Compiled filters of this process, by profile and bounding set.
SeccompProgram CachedFilter(const ContainerSecurity& security, uint64_t capabilities, const std::string& cache_dir) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, uint64_t>, SeccompProgram> cache;
  std::pair<std::string, uint64_t> key{security.seccomp == SeccompMode::kProfile ? security.seccomp_profile : "",
                                       capabilities};
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = cache.find(key);
    if (found != cache.end()) return found->second;
  }
  SeccompProfile parsed;
  const SeccompProfile* profile = &DefaultSeccompProfile();
  if (security.seccomp == SeccompMode::kProfile) {
    parsed = ParseSeccompProfile(security.seccomp_profile, "(--security-opt seccomp)");
    profile = &parsed;
  }
  SeccompProgram program =
      CompileSeccompFilterCached(PlanSeccompFilter(*profile, capabilities, CurrentSeccompHost()), cache_dir);
  std::lock_guard<std::mutex> lock(mutex);
  return cache.emplace(key, std::move(program)).first->second;
}

}  // namespace

void ApplySecurityOpt(ContainerSecurity& security, std::string_view opt) {
  size_t separator = opt.find('=');
  if (separator == std::string_view::npos && opt != kNoNewPrivileges) separator = opt.find(':');
  std::string key(opt.substr(0, separator));
  std::string value(separator == std::string_view::npos ? "" : opt.substr(separator + 1));
  if (key == kNoNewPrivileges) {
    if (separator == std::string_view::npos) {
      security.no_new_privileges = true;
    } else if (!ParseBool(value, security.no_new_privileges)) {
      throw Error("invalid --security-opt: \"" + std::string(opt) + "\": no-new-privileges takes true or false");
    }
  } else if (key == "seccomp" && !value.empty()) {
    if (value == "unconfined") {
      security.seccomp = SeccompMode::kUnconfined;
    } else if (value == "builtin") {
      security.seccomp = SeccompMode::kDefault;
    } else {
      security.seccomp = SeccompMode::kProfile;
      security.seccomp_profile = ReadProfile(value);
    }
  } else if (key == "systempaths" && value == "unconfined") {
    security.unmask_system_paths = true;
  } else if (key == "apparmor" || key == "label") {
    throw Error("invalid --security-opt: \"" + std::string(opt) + "\": bld has no AppArmor or SELinux support");
  } else {
    throw Error("invalid --security-opt: \"" + std::string(opt) +
                "\" (bld takes no-new-privileges, seccomp=unconfined, seccomp=PROFILE.json and "
                "systempaths=unconfined)");
  }
}

Ulimit ParseUlimit(std::string_view spec) {
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos) throw Error("invalid ulimit argument: " + std::string(spec));
  Ulimit u;
  u.name = std::string(spec.substr(0, eq));
  if (UlimitResource(u.name) < 0) throw Error("invalid ulimit type: " + u.name);
  std::string_view values = spec.substr(eq + 1);
  std::vector<std::string_view> parts = Split(values, ':');
  if (parts.size() > 2)
    throw Error("too many limit value arguments - " + std::string(values) +
                ", can only have up to two, `soft[:hard]`");
  std::optional<int64_t> soft = ParseLimit(parts[0]);
  std::optional<int64_t> hard = parts.size() == 2 ? ParseLimit(parts[1]) : soft;
  if (!soft || !hard) throw Error("invalid ulimit value: " + std::string(values));
  if (*hard != -1) {
    if (*soft == -1)
      throw Error("ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: " +
                  std::to_string(*hard));
    if (*soft > *hard)
      throw Error("ulimit soft limit must be less than or equal to hard limit: " + std::to_string(*soft) + " > " +
                  std::to_string(*hard));
  }
  u.soft = *soft;
  u.hard = *hard;
  return u;
}

TmpfsSpec ParseTmpfs(std::string_view spec) {
  size_t colon = spec.find(':');
  TmpfsSpec tmpfs{std::string(spec.substr(0, colon)),
                  colon == std::string_view::npos ? "" : std::string(spec.substr(colon + 1))};
  if (tmpfs.target.empty() || tmpfs.target[0] != '/')
    throw Error("invalid mount path: '" + tmpfs.target + "' mount path must be absolute");
  if (tmpfs.target.find_first_not_of('/') == std::string::npos)
    throw Error("invalid specification: destination can't be '/'");
  for (std::string_view component : Split(tmpfs.target, '/'))
    if (component == "..") throw Error("invalid mount path: '" + tmpfs.target + "' must not contain '..'");
  TmpfsMountOf(tmpfs);
  return tmpfs;
}

TmpfsMount TmpfsMountOf(const TmpfsSpec& spec) {
  TmpfsMount mount{spec.target, kTmpfsDefaultFlags, ""};
  if (spec.options.empty()) return mount;
  for (std::string_view option : Split(spec.options, ',')) {
    bool known = false;
    for (const TmpfsFlag& f : kTmpfsFlags) {
      if (option != f.name) continue;
      mount.flags = f.set ? (mount.flags | f.flag) : (mount.flags & ~f.flag);
      known = true;
    }
    size_t eq = option.find('=');
    if (!known && eq != std::string_view::npos && eq + 1 < option.size() &&
        std::find(std::begin(kTmpfsData), std::end(kTmpfsData), option.substr(0, eq)) != std::end(kTmpfsData)) {
      mount.data += (mount.data.empty() ? "" : ",") + std::string(option);
      known = true;
    }
    if (!known) throw Error("invalid tmpfs option \"" + std::string(option) + "\" for " + spec.target);
  }
  return mount;
}

uint64_t EffectiveCapabilities(const ContainerSecurity& security) {
  if (security.privileged) return AllCapabilities();
  return TweakCapabilities(kDefaultCapabilities, security.cap_add, security.cap_drop);
}

ProcessSecurity ResolveProcessSecurity(const ContainerSecurity& security, const std::string& filter_cache_dir) {
  ProcessSecurity process;
  process.capabilities = EffectiveCapabilities(security);
  if (uint64_t missing = process.capabilities & ~AllCapabilities()) {
    std::string names;
    for (const std::string& name : CapabilityNames(missing)) names += (names.empty() ? "" : ", ") + name;
    throw Error("the container should get " + names + ", which bld itself does not hold");
  }
  process.no_new_privileges = security.no_new_privileges;
  if (!security.privileged && security.seccomp != SeccompMode::kUnconfined)
    process.seccomp = CachedFilter(security, process.capabilities, filter_cache_dir);
  for (const Ulimit& u : security.ulimits)
    process.rlimits.push_back({UlimitResource(u.name), RlimValue(u.soft), RlimValue(u.hard)});
  return process;
}

std::vector<DeviceNode> ContainerDevices(const ContainerSecurity& security) {
  if (security.privileged) return HostDevices();
  std::vector<DeviceNode> devices;
  for (const DeviceMapping& mapping : security.devices) devices.push_back(DeviceNodeOf(mapping));
  return devices;
}

std::vector<DeviceRule> ContainerDeviceRules(const ContainerSecurity& security,
                                             const std::vector<DeviceNode>& devices) {
  if (security.privileged) return {};
  std::vector<DeviceRule> rules = DefaultDeviceRules();
  for (size_t i = 0; i < security.devices.size() && i < devices.size(); ++i) {
    const DeviceMapping& mapping = security.devices[i];
    if (mapping.permissions != "rwm" && !HasDeviceController())
      throw Error("--device " + mapping.host_path + ":" + mapping.container_path + ":" + mapping.permissions +
                  ": this host has no v1 device cgroup controller, so bld cannot limit a device to " +
                  mapping.permissions);
    rules.push_back(DeviceRuleOf(devices[i], mapping.permissions));
  }
  return rules;
}

std::vector<std::string> MaskedPathsOf(const ContainerSecurity& security) {
  if (security.privileged || security.unmask_system_paths) return {};
  return MaskedPaths();
}

std::vector<std::string> ReadonlyPathsOf(const ContainerSecurity& security) {
  if (security.privileged || security.unmask_system_paths) return {};
  return ReadonlyPaths();
}

std::vector<std::string> SecurityOptStrings(const ContainerSecurity& security) {
  std::vector<std::string> opts;
  if (security.no_new_privileges) opts.emplace_back(kNoNewPrivileges);
  if (security.seccomp == SeccompMode::kUnconfined) opts.emplace_back("seccomp=unconfined");
  if (security.seccomp == SeccompMode::kProfile) opts.push_back("seccomp=" + security.seccomp_profile);
  if (security.unmask_system_paths) opts.emplace_back("systempaths=unconfined");
  return opts;
}

json SecurityToJson(const ContainerSecurity& s) {
  json tmpfs = json::array();
  for (const TmpfsSpec& t : s.tmpfs) tmpfs.push_back({{"Target", t.target}, {"Options", t.options}});
  json ulimits = json::array();
  for (const Ulimit& u : s.ulimits) ulimits.push_back({{"Name", u.name}, {"Soft", u.soft}, {"Hard", u.hard}});
  json devices = json::array();
  for (const DeviceMapping& d : s.devices)
    devices.push_back(
        {{"PathOnHost", d.host_path}, {"PathInContainer", d.container_path}, {"CgroupPermissions", d.permissions}});
  return {{"Privileged", s.privileged},
          {"CapAdd", s.cap_add},
          {"CapDrop", s.cap_drop},
          {"NoNewPrivileges", s.no_new_privileges},
          {"Seccomp", SeccompModeName(s.seccomp)},
          {"SeccompProfile", s.seccomp_profile},
          {"UnmaskSystemPaths", s.unmask_system_paths},
          {"ReadonlyRootfs", s.read_only_rootfs},
          {"Tmpfs", tmpfs},
          {"Ulimits", ulimits},
          {"Devices", devices}};
}

ContainerSecurity SecurityFromJson(const json& j) {
  ContainerSecurity s;
  s.privileged = j.at("Privileged").get<bool>();
  s.cap_add = j.at("CapAdd").get<std::vector<std::string>>();
  s.cap_drop = j.at("CapDrop").get<std::vector<std::string>>();
  s.no_new_privileges = j.at("NoNewPrivileges").get<bool>();
  s.seccomp = SeccompModeOf(j.at("Seccomp").get<std::string>());
  s.seccomp_profile = j.at("SeccompProfile").get<std::string>();
  s.unmask_system_paths = j.at("UnmaskSystemPaths").get<bool>();
  s.read_only_rootfs = j.at("ReadonlyRootfs").get<bool>();
  for (const json& t : j.at("Tmpfs")) s.tmpfs.push_back({t.at("Target").get<std::string>(), t.at("Options").get<std::string>()});
  for (const json& u : j.at("Ulimits"))
    s.ulimits.push_back({u.at("Name").get<std::string>(), u.at("Soft").get<int64_t>(), u.at("Hard").get<int64_t>()});
  for (const json& d : j.at("Devices"))
    s.devices.push_back({d.at("PathOnHost").get<std::string>(), d.at("PathInContainer").get<std::string>(),
                         d.at("CgroupPermissions").get<std::string>()});
  return s;
}

}  // namespace bld::runner
