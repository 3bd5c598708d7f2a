#include "parser/json_array.h"

#include <cstdint>

#include "parser/utf8.h"

namespace bld::parser {

namespace {

// Go's encoding/json refuses documents nested deeper than this.
constexpr size_t kMaxNestingDepth = 10000;

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return s_[pos_]; }
  bool Consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }

  bool ReadString(std::string& out) {
    if (!Consume('"')) return false;
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++pos_ >= s_.size()) return false;
        char e = s_[pos_++];
        switch (e) {
          case '"': out.push_back('"'); break;
          case '\\': out.push_back('\\'); break;
          case '/': out.push_back('/'); break;
          case 'b': out.push_back('\b'); break;
          case 'f': out.push_back('\f'); break;
          case 'n': out.push_back('\n'); break;
          case 'r': out.push_back('\r'); break;
          case 't': out.push_back('\t'); break;
          case 'u': {
            uint32_t cp;
            if (!ReadHex4(cp)) return false;
            if (cp >= 0xD800 && cp < 0xDC00) {
              // A high surrogate must pair with a following low surrogate.
              size_t save = pos_;
              uint32_t low;
              if (ConsumeWord("\\u") && ReadHex4(low) && low >= 0xDC00 && low <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
              } else {
                pos_ = save;
                cp = utf8::kReplacementChar;
              }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              cp = utf8::kReplacementChar;
            }
            utf8::AppendRune(out, cp);
            break;
          }
          default: return false;
        }
        continue;
      }
      const utf8::DecodedRune d = utf8::DecodeRune(s_, pos_);
      if (utf8::IsInvalid(d)) {
        utf8::AppendRune(out, utf8::kReplacementChar);
      } else {
        out.append(s_.substr(pos_, d.width));
      }
      pos_ += d.width;
    }
    return false;
  }

  bool ReadNumber() {
    Consume('-');
    if (Consume('0')) {
    } else if (!ReadDigits()) {
      return false;
    }
    if (Consume('.') && !ReadDigits()) return false;
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (!Consume('+')) Consume('-');
      if (!ReadDigits()) return false;
    }
    return true;
  }

  // Validates one JSON value of any type without recursion.
  bool SkipValue() {
    std::vector<char> open;  // '[' or '{'
    for (;;) {
      SkipSpace();
      if (AtEnd()) return false;
      char c = Peek();
      bool scalar_done = false;
      if (c == '[' || c == '{') {
        if (open.size() >= kMaxNestingDepth) return false;
        ++pos_;
        open.push_back(c);
        SkipSpace();
        if (Consume(c == '[' ? ']' : '}')) {
          open.pop_back();
          scalar_done = true;
        } else if (c == '{') {
          std::string key;
          if (!ReadString(key)) return false;
          SkipSpace();
          if (!Consume(':')) return false;
          continue;
        } else {
          continue;
        }
      } else if (c == '"') {
        std::string ignored;
        if (!ReadString(ignored)) return false;
        scalar_done = true;
      } else if (ConsumeWord("true") || ConsumeWord("false") || ConsumeWord("null")) {
        scalar_done = true;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!ReadNumber()) return false;
        scalar_done = true;
      } else {
        return false;
      }
      // After a complete value: close containers or move to the next element.
      while (scalar_done) {
        if (open.empty()) return true;
        SkipSpace();
        char closer = open.back() == '[' ? ']' : '}';
        if (Consume(closer)) {
          open.pop_back();
          continue;
        }
        if (!Consume(',')) return false;
        if (open.back() == '{') {
          SkipSpace();
          std::string key;
          if (!ReadString(key)) return false;
          SkipSpace();
          if (!Consume(':')) return false;
        }
        scalar_done = false;
      }
    }
  }

 private:
  bool ReadDigits() {
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }
  bool ReadHex4(uint32_t& cp) {
    if (pos_ + 4 > s_.size()) return false;
    cp = 0;
    for (int k = 0; k < 4; ++k) {
      char h = s_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= h - '0';
      else if (h >= 'a' && h <= 'f') cp |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') cp |= h - 'A' + 10;
      else return false;
    }
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

JsonArrayResult ParseJsonStringArray(std::string_view text) {
  JsonArrayResult result;
  Reader r(text);
  // Docker trims leading Unicode spaces before looking for '['; JSON itself
  // only allows ASCII whitespace, which is all a Dockerfile line holds here.
  r.SkipSpace();
  if (!r.Consume('[')) return result;
  r.SkipSpace();
  if (r.Consume(']')) {
    result.status = JsonArrayStatus::kStringArray;
    return result;
  }
  bool all_strings = true;
  for (;;) {
    r.SkipSpace();
    if (r.AtEnd()) return result;
    if (r.Peek() == '"') {
      std::string s;
      if (!r.ReadString(s)) return result;
      result.strings.push_back(std::move(s));
    } else {
      if (!r.SkipValue()) return result;
      all_strings = false;
    }
    r.SkipSpace();
    if (r.Consume(']')) break;
    if (!r.Consume(',')) return result;
  }
  if (!all_strings) {
    result.strings.clear();
    result.status = JsonArrayStatus::kNotStringArray;
    return result;
  }
  result.status = JsonArrayStatus::kStringArray;
  return result;
}

std::string JsonQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace bld::parser
