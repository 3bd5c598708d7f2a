#include "parser/utf8.h"

namespace bld::parser::utf8 {

namespace {

// The longest encoding: four bytes, for code points above U+FFFF.
constexpr size_t kMaxWidth = 4;

bool IsContinuationByte(unsigned char b) { return (b & 0xC0) == 0x80; }

}  // namespace

DecodedRune DecodeRune(std::string_view s, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[pos + i]); };
  const size_t left = s.size() - pos;
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return {b0, 1};
  const DecodedRune invalid{kReplacementChar, 1};
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (left < 2 || !IsContinuationByte(byte(1))) return invalid;
    return {static_cast<char32_t>((b0 & 0x1F) << 6 | (byte(1) & 0x3F)), 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    // The second byte's range excludes overlong forms (after E0) and surrogates (after ED).
    const unsigned char low = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char high = b0 == 0xED ? 0x9F : 0xBF;
    if (left < 2 || byte(1) < low || byte(1) > high) return invalid;
    if (left < 3 || !IsContinuationByte(byte(2))) return invalid;
    return {static_cast<char32_t>((b0 & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F)), 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    // Likewise overlong forms (after F0) and code points above U+10FFFF (after F4).
    const unsigned char low = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = b0 == 0xF4 ? 0x8F : 0xBF;
    if (left < 2 || byte(1) < low || byte(1) > high) return invalid;
    if (left < 3 || !IsContinuationByte(byte(2))) return invalid;
    if (left < 4 || !IsContinuationByte(byte(3))) return invalid;
    return {static_cast<char32_t>((b0 & 0x07) << 18 | (byte(1) & 0x3F) << 12 | (byte(2) & 0x3F) << 6 |
                                  (byte(3) & 0x3F)),
            4};
  }
  return invalid;
}

DecodedRune DecodeLastRune(std::string_view s) {
  const size_t end = s.size();
  size_t start = end - 1;
  if (static_cast<unsigned char>(s[start]) < 0x80) return {static_cast<unsigned char>(s[start]), 1};
  const size_t limit = end >= kMaxWidth ? end - kMaxWidth : 0;
  while (start > limit && IsContinuationByte(static_cast<unsigned char>(s[start]))) --start;
  const DecodedRune decoded = DecodeRune(s, start);
  if (start + decoded.width != end) return {kReplacementChar, 1};
  return decoded;
}

void AppendRune(std::string& out, char32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | r >> 6);
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | r >> 12);
    out += static_cast<char>(0x80 | (r >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | r >> 18);
    out += static_cast<char>(0x80 | (r >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (r >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

}  // namespace bld::parser::utf8
