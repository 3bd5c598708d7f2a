// UTF-8 as Go's unicode/utf8 package reads and writes it, because the
// Dockerfile front end must decode text exactly as BuildKit and moby do: an
// invalid, overlong, surrogate or truncated sequence decodes as U+FFFD of
// width 1, so every byte is consumed and nothing is refused.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bld::parser::utf8 {

// What Go decodes an invalid byte to (utf8.RuneError).
inline constexpr char32_t kReplacementChar = 0xFFFD;

struct DecodedRune {
  char32_t rune;
  size_t width;  // bytes consumed, at least 1
};

// utf8.DecodeRuneInString(s[pos:]) for pos < s.size().
DecodedRune DecodeRune(std::string_view s, size_t pos);

// utf8.DecodeLastRuneInString(s) for a non-empty s.
DecodedRune DecodeLastRune(std::string_view s);

// Whether a decode result stands for an invalid byte (a literal U+FFFD in
// the text is three bytes wide).
inline bool IsInvalid(const DecodedRune& d) { return d.rune == kReplacementChar && d.width == 1; }

// Appends the UTF-8 encoding of a code point up to U+10FFFF.
void AppendRune(std::string& out, char32_t rune);

}  // namespace bld::parser::utf8
