#include "cli/source_date_epoch.h"

#include <cerrno>
#include <cstdlib>

#include "store/error.h"

namespace bld::cli {

namespace {

int64_t ParseEpoch(const std::string& value, const std::string& where) {
  errno = 0;
  char* end = nullptr;
  long long seconds = std::strtoll(value.c_str(), &end, 10);
  if (end == value.c_str() || *end != '\0' || errno == ERANGE || seconds < 0)
    throw Error(where + " is not a number of seconds since 1970 (SOURCE_DATE_EPOCH=0 is 1970-01-01T00:00:00Z)");
  return seconds;
}

}  // namespace

std::optional<int64_t> SourceDateEpoch(const std::map<std::string, std::string>& build_args) {
  if (auto arg = build_args.find(kSourceDateEpoch); arg != build_args.end() && !arg->second.empty())
    return ParseEpoch(arg->second, "--build-arg " + std::string(kSourceDateEpoch) + "=" + arg->second);
  const char* env = std::getenv(kSourceDateEpoch);
  if (!env || !*env) return std::nullopt;
  return ParseEpoch(env, std::string(kSourceDateEpoch) + "=" + env + " in the environment");
}

}  // namespace bld::cli
