// The comma-separated key=value specs of BuildKit's build flags (`-o`,
// `--cache-to`, `--cache-from`), split and checked alike: each field has
// a key and a non-empty value, and no key comes twice.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>

namespace bld::builder {

// The spec's key=value pairs. `where` starts every error message ("--output
// SPEC: "); `bare_hint` is said after a field without "=".
std::map<std::string, std::string> SpecFields(const std::string& spec, const std::string& where,
                                              const std::string& bare_hint);

// "true" or "false"; anything else is refused naming the key.
bool SpecBool(const std::string& key, const std::string& value, const std::string& where);

}  // namespace bld::builder
