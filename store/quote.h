// Names from hostile input (tar entries, archive paths) as error messages
// show them: a name can hold control bytes that would rewrite the user's
// terminal, or be kilobytes long, so it is quoted, escaped and cut.
//
// Thread safety: a pure function.
#pragma once

#include <string>
#include <string_view>

namespace bld::store {

// `name` in double quotes, with '"' and '\' escaped, control bytes as \xNN,
// and cut after 200 bytes with "..." after it.
std::string QuoteName(std::string_view name);

}  // namespace bld::store
