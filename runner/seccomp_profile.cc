#include "runner/seccomp_profile.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <nlohmann/json.hpp>

#include "runner/capabilities.h"
#include "runner/seccomp_default.h"
#include "store/error.h"

namespace bld::runner {

namespace {

using nlohmann::json;

// The host's architecture as Docker names it in "arches" selectors (Go's
// GOARCH, with libseccomp's names for the MIPS ABIs), and as the archMap
// key.
#if defined(__x86_64__)
constexpr const char* kNativeArch = "amd64";
constexpr const char* kNativeArchToken = "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
constexpr const char* kNativeArch = "arm64";
constexpr const char* kNativeArchToken = "SCMP_ARCH_AARCH64";
#elif defined(__riscv) && __riscv_xlen == 64
constexpr const char* kNativeArch = "riscv64";
constexpr const char* kNativeArchToken = "SCMP_ARCH_RISCV64";
#elif defined(__s390x__)
constexpr const char* kNativeArch = "s390x";
constexpr const char* kNativeArchToken = "SCMP_ARCH_S390X";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr const char* kNativeArch = "ppc64le";
constexpr const char* kNativeArchToken = "SCMP_ARCH_PPC64LE";
#else
#error "bld knows no seccomp architecture for this target"
#endif

// The names Docker's profiles use in "arches" selectors.
constexpr const char* kSelectorArches[] = {
    "x86",  "amd64", "x32",   "arm",     "arm64", "mips",      "mipsle",      "mips64",      "mips64n32",
    "mipsel64", "mips3l64n32", "mipsel64n32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "riscv64",
    "parisc", "parisc64", "loong64",
};

// libseccomp's architectures, as profiles name them.
constexpr const char* kArchTokens[] = {
    "SCMP_ARCH_X86",      "SCMP_ARCH_X86_64",    "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",  "SCMP_ARCH_MIPS",      "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",   "SCMP_ARCH_MIPSEL64",  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",    "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",   "SCMP_ARCH_PARISC64",  "SCMP_ARCH_RISCV64",
};

// The filter flags bld can load a filter with (seccomp_filter.h); a
// listener (SECCOMP_FILTER_FLAG_NEW_LISTENER and its relatives) needs an
// agent bld does not have.
constexpr const char* kFilterFlags[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
};

constexpr size_t kMaxArgumentIndex = 5;
// SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry 16 bits of data.
constexpr uint64_t kMaxActionData = 0xffff;
// errno values are below 4096 (the kernel's MAX_ERRNO).
constexpr int kMaxErrno = 4095;

struct ActionName {
  const char* name;
  SeccompAction action;
};
constexpr ActionName kActions[] = {
    {"SCMP_ACT_KILL", SeccompAction::kKillThread},   {"SCMP_ACT_KILL_THREAD", SeccompAction::kKillThread},
    {"SCMP_ACT_KILL_PROCESS", SeccompAction::kKillProcess}, {"SCMP_ACT_TRAP", SeccompAction::kTrap},
    {"SCMP_ACT_ERRNO", SeccompAction::kErrno},        {"SCMP_ACT_TRACE", SeccompAction::kTrace},
    {"SCMP_ACT_ALLOW", SeccompAction::kAllow},        {"SCMP_ACT_LOG", SeccompAction::kLog},
};

struct OperatorName {
  const char* name;
  SeccompOperator op;
};
constexpr OperatorName kOperators[] = {
    {"SCMP_CMP_NE", SeccompOperator::kNotEqual},        {"SCMP_CMP_LT", SeccompOperator::kLess},
    {"SCMP_CMP_LE", SeccompOperator::kLessOrEqual},     {"SCMP_CMP_EQ", SeccompOperator::kEqual},
    {"SCMP_CMP_GE", SeccompOperator::kGreaterOrEqual},  {"SCMP_CMP_GT", SeccompOperator::kGreater},
    {"SCMP_CMP_MASKED_EQ", SeccompOperator::kMaskedEqual},
};

template <typename List>
bool Listed(const List& list, std::string_view name) {
  return std::any_of(std::begin(list), std::end(list), [&](const char* item) { return name == item; });
}

bool Contains(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// Reads one profile, with the place of every value for its errors.
class ProfileReader {
 public:
  explicit ProfileReader(std::string_view source) : source_(source) {}

  [[noreturn]] void Fail(const std::string& where, const std::string& what) const {
    throw Error("seccomp profile " + source_ + ": " + (where.empty() ? "" : where + ": ") + what);
  }

  // Refuses any key of `object` that is not in `known`.
  void CheckKeys(const json& object, const std::string& where, std::initializer_list<const char*> known) const {
    if (!object.is_object()) Fail(where, "must be an object");
    for (const auto& [key, value] : object.items())
      if (!Listed(known, key)) Fail(where.empty() ? key : where + "." + key, "unknown field");
  }

  std::string String(const json& value, const std::string& where) const {
    if (!value.is_string()) Fail(where, "must be a string");
    return value.get<std::string>();
  }

  uint64_t Unsigned(const json& value, const std::string& where) const {
    if (!value.is_number_unsigned()) Fail(where, "must be a number from 0 to 18446744073709551615");
    return value.get<uint64_t>();
  }

  // A list of strings; null and absent are empty, as in Docker's JSON.
  std::vector<std::string> Strings(const json& object, const char* key, const std::string& where) const {
    std::vector<std::string> out;
    if (!object.contains(key) || object.at(key).is_null()) return out;
    const json& list = object.at(key);
    std::string here = where.empty() ? key : where + "." + key;
    if (!list.is_array()) Fail(here, "must be a list of strings");
    for (size_t i = 0; i < list.size(); ++i) out.push_back(String(list[i], here + "[" + std::to_string(i) + "]"));
    return out;
  }

  SeccompAction Action(const json& value, const std::string& where) const {
    std::string name = String(value, where);
    for (const ActionName& a : kActions)
      if (name == a.name) return a.action;
    if (name == "SCMP_ACT_NOTIFY") Fail(where, "SCMP_ACT_NOTIFY needs a seccomp agent, which bld does not have");
    Fail(where, "unknown action " + name);
  }

  // "errnoRet": a number; "errno": its name, as containers-common writes
  // it beside the number.
  std::optional<uint32_t> Errno(const json& object, const char* number_key, const char* name_key,
                                const std::string& where) const {
    std::optional<uint32_t> number;
    std::string here = where.empty() ? "" : where + ".";
    if (object.contains(number_key) && !object.at(number_key).is_null()) {
      uint64_t value = Unsigned(object.at(number_key), here + number_key);
      if (value > kMaxActionData) Fail(here + number_key, "must be at most " + std::to_string(kMaxActionData));
      number = static_cast<uint32_t>(value);
    }
    if (object.contains(name_key) && !object.at(name_key).is_null()) {
      std::string name = String(object.at(name_key), here + name_key);
      std::optional<uint32_t> named = ErrnoNumber(name);
      if (!named) Fail(here + name_key, "unknown errno " + name);
      if (number && *number != *named)
        Fail(here + name_key, name + " is " + std::to_string(*named) + ", not " + std::to_string(*number));
      number = named;
    }
    return number;
  }

  SeccompSelector Selector(const json& object, const char* key, const std::string& where) const {
    SeccompSelector s;
    if (!object.contains(key) || object.at(key).is_null()) return s;
    const json& sel = object.at(key);
    std::string here = where + "." + key;
    CheckKeys(sel, here, {"caps", "arches", "minKernel"});
    s.caps = Strings(sel, "caps", here);
    for (const std::string& cap : s.caps)
      if (CapabilityNumber(cap) < 0) Fail(here + ".caps", "unknown capability " + cap);
    s.arches = Strings(sel, "arches", here);
    for (const std::string& arch : s.arches)
      if (!Listed(kSelectorArches, arch)) Fail(here + ".arches", "unknown architecture " + arch);
    if (sel.contains("minKernel") && !sel.at("minKernel").is_null()) {
      s.min_kernel = String(sel.at("minKernel"), here + ".minKernel");
      if (!ParseKernelVersion(s.min_kernel)) Fail(here + ".minKernel", "not a kernel version: " + s.min_kernel);
    }
    return s;
  }

  SeccompCondition Condition(const json& arg, const std::string& where) const {
    CheckKeys(arg, where, {"index", "value", "valueTwo", "op"});
    SeccompCondition c;
    if (!arg.contains("index")) Fail(where, "missing index");
    uint64_t index = Unsigned(arg.at("index"), where + ".index");
    if (index > kMaxArgumentIndex) Fail(where + ".index", "must be from 0 to 5");
    c.index = static_cast<unsigned>(index);
    if (arg.contains("value")) c.value = Unsigned(arg.at("value"), where + ".value");
    if (arg.contains("valueTwo")) c.value_two = Unsigned(arg.at("valueTwo"), where + ".valueTwo");
    if (!arg.contains("op")) Fail(where, "missing op");
    std::string op = String(arg.at("op"), where + ".op");
    bool known = false;
    for (const OperatorName& o : kOperators)
      if (op == o.name) c.op = o.op, known = true;
    if (!known) Fail(where + ".op", "unknown operator " + op);
    return c;
  }

  SeccompRule Rule(const json& rule, const std::string& where) const {
    CheckKeys(rule, where,
              {"name", "names", "action", "args", "comment", "includes", "excludes", "errnoRet", "errno"});
    SeccompRule r;
    r.names = Strings(rule, "names", where);
    if (rule.contains("name") && !rule.at("name").is_null()) {
      if (!r.names.empty()) Fail(where, "both name and names are given; use one");
      r.names.push_back(String(rule.at("name"), where + ".name"));
    }
    if (r.names.empty()) Fail(where, "names no syscall");
    if (!rule.contains("action")) Fail(where, "missing action");
    r.action = Action(rule.at("action"), where + ".action");
    r.errno_ret = Errno(rule, "errnoRet", "errno", where);
    if (r.errno_ret && r.action != SeccompAction::kErrno && r.action != SeccompAction::kTrace)
      Fail(where + ".errnoRet", "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a value");
    if (rule.contains("args") && !rule.at("args").is_null()) {
      const json& args = rule.at("args");
      if (!args.is_array()) Fail(where + ".args", "must be a list");
      for (size_t i = 0; i < args.size(); ++i)
        r.args.push_back(Condition(args[i], where + ".args[" + std::to_string(i) + "]"));
    }
    r.includes = Selector(rule, "includes", where);
    r.excludes = Selector(rule, "excludes", where);
    return r;
  }

  SeccompProfile Profile(const json& j) const {
    CheckKeys(j, "",
              {"defaultAction", "defaultErrnoRet", "defaultErrno", "architectures", "archMap", "syscalls", "flags",
               "listenerPath", "listenerMetadata"});
    SeccompProfile p;
    if (!j.contains("defaultAction")) Fail("", "missing defaultAction");
    p.default_action = Action(j.at("defaultAction"), "defaultAction");
    p.default_errno_ret = Errno(j, "defaultErrnoRet", "defaultErrno", "");
    for (const char* listener : {"listenerPath", "listenerMetadata"})
      if (j.contains(listener) && !(j.at(listener).is_string() && j.at(listener).get<std::string>().empty()))
        Fail(listener, "a seccomp agent is not supported by bld");
    p.architectures = Strings(j, "architectures", "");
    for (const std::string& arch : p.architectures)
      if (!Listed(kArchTokens, arch)) Fail("architectures", "unknown architecture " + arch);
    if (j.contains("archMap") && !j.at("archMap").is_null()) {
      const json& map = j.at("archMap");
      if (!map.is_array()) Fail("archMap", "must be a list");
      for (size_t i = 0; i < map.size(); ++i) {
        std::string where = "archMap[" + std::to_string(i) + "]";
        CheckKeys(map[i], where, {"architecture", "subArchitectures"});
        SeccompArchMapEntry entry;
        if (!map[i].contains("architecture")) Fail(where, "missing architecture");
        entry.architecture = String(map[i].at("architecture"), where + ".architecture");
        entry.sub_architectures = Strings(map[i], "subArchitectures", where);
        for (const std::string& arch : entry.sub_architectures)
          if (!Listed(kArchTokens, arch)) Fail(where + ".subArchitectures", "unknown architecture " + arch);
        if (!Listed(kArchTokens, entry.architecture))
          Fail(where + ".architecture", "unknown architecture " + entry.architecture);
        p.arch_map.push_back(std::move(entry));
      }
    }
    if (!p.architectures.empty() && !p.arch_map.empty())
      Fail("", "both architectures and archMap are given; use one");
    p.flags = Strings(j, "flags", "");
    for (const std::string& flag : p.flags)
      if (!Listed(kFilterFlags, flag)) Fail("flags", "unsupported flag " + flag);
    if (j.contains("syscalls") && !j.at("syscalls").is_null()) {
      const json& rules = j.at("syscalls");
      if (!rules.is_array()) Fail("syscalls", "must be a list");
      for (size_t i = 0; i < rules.size(); ++i)
        p.syscalls.push_back(Rule(rules[i], "syscalls[" + std::to_string(i) + "]"));
    }
    return p;
  }

  static std::optional<uint32_t> ErrnoNumber(std::string_view name) {
    for (int number = 1; number <= kMaxErrno; ++number) {
      const char* known = ::strerrorname_np(number);
      if (known && name == known) return static_cast<uint32_t>(number);
    }
    return std::nullopt;
  }

  // "4.8" or "6.1.0-18-amd64" -> {4, 8}: major and minor decide, as in
  // Docker's comparison of a release with a minKernel.
  static std::optional<std::pair<int, int>> ParseKernelVersion(std::string_view text) {
    int major = 0, minor = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), major);
    if (ec != std::errc() || end == text.data() + text.size() || *end != '.') return std::nullopt;
    auto [end2, ec2] = std::from_chars(end + 1, text.data() + text.size(), minor);
    if (ec2 != std::errc()) return std::nullopt;
    return std::pair{major, minor};
  }

 private:
  std::string source_;
};

bool KernelAtLeast(const std::string& release, const std::string& min_kernel) {
  auto have = ProfileReader::ParseKernelVersion(release);
  auto want = ProfileReader::ParseKernelVersion(min_kernel);
  if (!want) throw Error("seccomp profile: not a kernel version: " + min_kernel);
  if (!have) throw Error("runner: cannot read the kernel's version from " + release);
  return *have >= *want;
}

bool HasAllCaps(const std::vector<std::string>& caps, uint64_t capabilities) {
  return std::all_of(caps.begin(), caps.end(),
                     [&](const std::string& cap) { return capabilities & CapabilityBit(CapabilityNumber(cap)); });
}

bool HasAnyCap(const std::vector<std::string>& caps, uint64_t capabilities) {
  return std::any_of(caps.begin(), caps.end(),
                     [&](const std::string& cap) { return capabilities & CapabilityBit(CapabilityNumber(cap)); });
}

// Docker's order of checks (moby profiles/seccomp, setupSeccomp).
bool Applies(const SeccompRule& rule, uint64_t capabilities, const SeccompHost& host) {
  const SeccompSelector& ex = rule.excludes;
  if (Contains(ex.arches, host.arch)) return false;
  if (HasAnyCap(ex.caps, capabilities)) return false;
  if (!ex.min_kernel.empty() && KernelAtLeast(host.kernel_release, ex.min_kernel)) return false;
  const SeccompSelector& in = rule.includes;
  if (!in.arches.empty() && !Contains(in.arches, host.arch)) return false;
  if (!HasAllCaps(in.caps, capabilities)) return false;
  if (!in.min_kernel.empty() && !KernelAtLeast(host.kernel_release, in.min_kernel)) return false;
  return true;
}

}  // namespace

SeccompProfile ParseSeccompProfile(std::string_view text, std::string_view source) {
  ProfileReader reader(source);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    reader.Fail("", std::string("not JSON: ") + e.what());
  }
  return reader.Profile(j);
}

const SeccompProfile& DefaultSeccompProfile() {
  static const SeccompProfile profile = ParseSeccompProfile(kDefaultSeccompProfileJson, "(Docker's default)");
  return profile;
}

SeccompHost CurrentSeccompHost() {
  utsname name{};
  if (::uname(&name) != 0) throw SysError("runner: read the kernel's version");
  return {kNativeArch, kNativeArchToken, name.release};
}

SeccompFilterPlan PlanSeccompFilter(const SeccompProfile& profile, uint64_t capabilities, const SeccompHost& host) {
  SeccompFilterPlan plan;
  plan.default_action = profile.default_action;
  plan.default_errno_ret = profile.default_errno_ret.value_or(EPERM);
  plan.flags = profile.flags;
  plan.architectures = profile.architectures;
  for (const SeccompArchMapEntry& entry : profile.arch_map) {
    if (entry.architecture != host.arch_token) continue;
    plan.architectures.push_back(entry.architecture);
    plan.architectures.insert(plan.architectures.end(), entry.sub_architectures.begin(), entry.sub_architectures.end());
    break;
  }
  for (const SeccompRule& rule : profile.syscalls) {
    if (!Applies(rule, capabilities, host)) continue;
    plan.rules.push_back({rule.names, rule.action, rule.errno_ret.value_or(EPERM), rule.args});
  }
  return plan;
}

}  // namespace bld::runner
