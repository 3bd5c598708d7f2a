#include "builder/flag_support.h"

#include <algorithm>
#include <cctype>

#include "builder/builder.h"
#include "builder/step_executor.h"

namespace bld::builder {

namespace {

using parser::Keyword;

constexpr std::string_view kNoDevices =
    "RUN --device is not supported: bld gives RUN steps no host devices (its containers have only the "
    "minimal /dev); build the part that needs the device outside bld";
constexpr std::string_view kNoGit =
    "ADD --keep-git-dir: bld does not fetch git repositories (ADD of a git URL needs a clone, which bld does "
    "not do); clone the repository into the build context and COPY it, .git included";

// Option values are case-insensitive, as the parser reads them.
bool SameValue(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

bool MountListed(std::string_view type, std::string_view key, std::string_view value) {
  for (const MountOptionSupport& s : SupportedMountOptions())
    if (s.type == type && s.key == key && (s.value.empty() || SameValue(s.value, value))) return true;
  return false;
}

}  // namespace

const std::vector<FlagSupport>& SupportedFlags() {
  static const std::vector<FlagSupport> flags = {
      {Keyword::kFrom, "platform", "", ""},
      {Keyword::kRun, "mount", "", ""},
      {Keyword::kRun, "network", "default", ""},
      {Keyword::kRun, "network", "none", ""},
      {Keyword::kRun, "network", "host", ""},
      {Keyword::kRun, "security", "sandbox", ""},
      {Keyword::kRun, "security", "insecure", ""},
      {Keyword::kRun, "device", "", kNoDevices},
      {Keyword::kCopy, "chown", "", ""},
      {Keyword::kCopy, "chmod", "", ""},
      {Keyword::kCopy, "from", "", ""},
      {Keyword::kCopy, "link", "", ""},
      {Keyword::kCopy, "parents", "", ""},
      {Keyword::kCopy, "exclude", "", ""},
      {Keyword::kAdd, "chown", "", ""},
      {Keyword::kAdd, "chmod", "", ""},
      {Keyword::kAdd, "link", "", ""},
      {Keyword::kAdd, "keep-git-dir", "", kNoGit},
      {Keyword::kAdd, "checksum", "", ""},
      {Keyword::kAdd, "exclude", "", ""},
      {Keyword::kHealthcheck, "interval", "", ""},
      {Keyword::kHealthcheck, "timeout", "", ""},
      {Keyword::kHealthcheck, "start-period", "", ""},
      {Keyword::kHealthcheck, "start-interval", "", ""},
      {Keyword::kHealthcheck, "retries", "", ""},
  };
  return flags;
}

const std::vector<MountOptionSupport>& SupportedMountOptions() {
  static const std::vector<MountOptionSupport> options = {
      {"bind", "", ""},           {"bind", "from", ""},      {"bind", "source", ""},    {"bind", "target", ""},
      {"bind", "ro", ""},         {"bind", "rw", ""},        {"cache", "", ""},         {"cache", "id", ""},
      {"cache", "target", ""},    {"cache", "ro", ""},       {"cache", "rw", ""},       {"cache", "from", ""},
      {"cache", "source", ""},    {"cache", "mode", ""},     {"cache", "uid", ""},      {"cache", "gid", ""},
      {"cache", "sharing", "shared"}, {"cache", "sharing", "private"}, {"cache", "sharing", "locked"},
      {"tmpfs", "", ""},          {"tmpfs", "target", ""},   {"tmpfs", "size", ""},     {"tmpfs", "ro", ""},
      {"tmpfs", "rw", ""},        {"secret", "", ""},        {"secret", "id", ""},      {"secret", "source", ""},
      {"secret", "target", ""},   {"secret", "env", ""},     {"secret", "required", ""}, {"secret", "mode", ""},
      {"secret", "uid", ""},      {"secret", "gid", ""},     {"secret", "ro", ""},      {"secret", "rw", ""},
      {"ssh", "", ""},            {"ssh", "id", ""},         {"ssh", "target", ""},     {"ssh", "required", ""},
      {"ssh", "mode", ""},        {"ssh", "uid", ""},        {"ssh", "gid", ""},        {"ssh", "ro", ""},
      {"ssh", "rw", ""},
  };
  return options;
}

void CheckFlagsSupported(const BuildEnv& env, const parser::Instruction& ins) {
  const std::string keyword(parser::KeywordName(ins.keyword));
  for (const auto& [flag, values] : ins.flag_values) {
    for (const std::string& value : values) {
      const FlagSupport* found = nullptr;
      for (const FlagSupport& s : SupportedFlags())
        if (s.keyword == ins.keyword && s.flag == flag && (s.value.empty() || s.value == value)) found = &s;
      if (!found) FailAt(env, ins, keyword + " --" + flag + "=" + value + ": not supported by bld");
      if (!found->refusal.empty()) FailAt(env, ins, std::string(found->refusal));
    }
  }
  // RUN --security=insecure without --allow security.insecure is refused
  // before the build starts (run_step.h CheckRunEntitlements).
}

void CheckMountSupported(const BuildEnv& env, const parser::Instruction& ins, const std::string& spec,
                         const parser::RunMount& mount) {
  if (!MountListed(mount.type, "", ""))
    FailAt(env, ins, "RUN --mount=" + spec + ": type=" + mount.type + " is not supported by bld");
  for (const auto& [key, value] : mount.options)
    if (!MountListed(mount.type, key, value))
      FailAt(env, ins,
             "RUN --mount=" + spec + ": " + key + "=" + value + " is not supported by bld for type=" + mount.type +
                 " mounts");
}

}  // namespace bld::builder
