// "Did you mean ...?" for misspelt instructions, flags and stage names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bld::parser {

// The candidate closest to `word` (case-insensitive edit distance, with a
// transposition counting as one edit), if it is close enough to be a likely
// typo: fewer than 3 edits and fewer edits than the word has characters.
std::optional<std::string> Suggest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace bld::parser
