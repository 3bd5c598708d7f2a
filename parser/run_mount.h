// RUN --mount: one mount spec, read and checked as BuildKit's Dockerfile
// frontend reads it (its mount types, keys, aliases and defaults), and
// stricter where BuildKit accepts an option and then ignores it: every key
// here means something for the mount type it is given with, or is an error.
//
// The spec is one CSV record of fields: `key=value`, or the bare boolean
// keys `ro`, `readonly`, `rw`, `readwrite` and (secret, ssh) `required`.
// Keys are case-insensitive; `src` is `source`, `dst` and `destination` are
// `target`, `readonly` is `ro`, `readwrite` is `rw`. Values may use build
// variables: the parser checks what it can without them (a value holding `$`
// is checked once the builder has expanded it, with an expander given to
// ParseRunMount), except `from`, which is never expanded, as in BuildKit.
//
// Defaults, as BuildKit's: type bind; bind, secret and ssh are read-only,
// cache and tmpfs writable; a cache's id is its target; a secret's id is
// its source, or the last element of its target; an ssh mount's id is
// "default". The target may be relative or empty: the builder resolves it
// against the working directory (a secret's default is /run/secrets/<id>,
// an ssh socket's /run/buildkit/ssh_agent.<n>).
//
// Thread-safety: values; pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bld::parser {

struct RunMount {
  std::string type = "bind";  // bind, cache, tmpfs, secret or ssh
  std::string from;           // bind, cache: a stage or image ("" the context / an empty cache)
  std::string source;         // bind, cache: a path in `from`
  std::string target;         // as written: may be relative or empty
  std::string id;             // cache, secret, ssh (defaults applied)
  std::string sharing;        // cache: shared (default), private or locked
  std::optional<std::string> env;  // secret: the variable that holds the value
  std::optional<uint32_t> mode, uid, gid;  // cache, secret, ssh
  bool read_only = true;      // after the defaults above
  bool required = false;      // secret, ssh
  std::optional<uint64_t> size;  // tmpfs: bytes
  // Every field as given, by canonical key (`src=a` is "source" -> "a");
  // bare boolean keys hold "true".
  std::map<std::string, std::string> options;
  std::string Option(std::string_view key) const;
};

// Expands one option value (build variables); throws std::invalid_argument.
using MountValueExpander = std::function<std::string(const std::string&)>;

// Parses a --mount value. Without `expand`, values that hold `$` are left
// as written and checked later. Throws std::invalid_argument with the
// reason (BuildKit's wording where it has one).
RunMount ParseRunMount(std::string_view spec, const MountValueExpander& expand = nullptr);

// What ParseRunMount accepts, for the rule that the builder handles every
// one of them (tests/builder/flag_support_test.cc).
struct MountOptionSpec {
  std::string_view key;                  // canonical
  std::vector<std::string_view> types;   // the mount types it is accepted with
  std::vector<std::string_view> values;  // a closed set of values, or empty
};
const std::vector<MountOptionSpec>& MountOptionSpecs();
const std::vector<std::string_view>& MountTypes();

}  // namespace bld::parser
