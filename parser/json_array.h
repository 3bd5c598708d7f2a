// Reading the JSON (exec) form of RUN, CMD, ENTRYPOINT, SHELL, COPY, ADD and
// VOLUME exactly as Docker does.
//
// Docker decodes the first JSON value of the argument text and ignores what
// follows it. Text that is not a JSON array (or not valid JSON) is not an
// error: the instruction falls back to its shell form. A valid JSON array
// holding anything but strings is an error. Strings are decoded as Go's
// encoding/json does (invalid UTF-8 and lone surrogates become U+FFFD).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bld::parser {

enum class JsonArrayStatus {
  kStringArray,     // a JSON array of strings: the exec form
  kNotJson,         // not a JSON array: use the shell form
  kNotStringArray,  // a JSON array with a non-string element: an error
};

struct JsonArrayResult {
  JsonArrayStatus status = JsonArrayStatus::kNotJson;
  std::vector<std::string> strings;
};

JsonArrayResult ParseJsonStringArray(std::string_view text);

// Encodes s as a JSON string literal (with quotes); used to print exec forms
// the way Docker writes them in history entries.
std::string JsonQuote(std::string_view s);

}  // namespace bld::parser
