// Docker's .dockerignore matching (see dockerignore.h). The file follows the
// order in which Docker applies its pieces:
//  1. the Go library behaviour Docker relies on: UTF-8 decoding as Go's utf8
//     package does, strings.TrimSpace, filepath.Clean and filepath.Dir;
//  2. filepath.Match's syntax check, which New() uses to reject patterns;
//  3. Docker's translation of a pattern into a match kind and a Go regexp;
//  4. a parser for the Go regexp syntax such a regexp can hold, and a
//     Thompson NFA that runs it;
//  5. PatternMatcher itself, the ignore-file reader and the file lookup.
#include "parser/dockerignore.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <utility>

#include "parser/utf8.h"

namespace bld::parser {
namespace {

// ---------------------------------------------------------------------------
// 1. Go library behaviour.

using Rune = int32_t;          // a Unicode code point, as Go's rune
constexpr Rune kNoRune = -1;   // before the start or past the end of a text
constexpr Rune kRuneError = 0xFFFD;
constexpr Rune kMaxRune = 0x10FFFF;
constexpr Rune kByteOrderMark = 0xFEFF;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

struct Decoded {
  Rune rune;
  size_t width;
};

Decoded DecodeRune(std::string_view s, size_t i) {
  const utf8::DecodedRune d = utf8::DecodeRune(s, i);
  return {static_cast<Rune>(d.rune), d.width};
}

Decoded DecodeLastRune(std::string_view s) {
  const utf8::DecodedRune d = utf8::DecodeLastRune(s);
  return {static_cast<Rune>(d.rune), d.width};
}

void AppendRune(std::string& out, Rune r) { utf8::AppendRune(out, static_cast<char32_t>(r)); }

bool IsGoSpace(Rune r) {
  switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

// strings.TrimSpace.
std::string_view TrimSpace(std::string_view s) {
  while (!s.empty()) {
    const Decoded first = DecodeRune(s, 0);
    if (!IsGoSpace(first.rune)) break;
    s.remove_prefix(first.width);
  }
  while (!s.empty()) {
    const Decoded last = DecodeLastRune(s);
    if (!IsGoSpace(last.rune)) break;
    s.remove_suffix(last.width);
  }
  return s;
}

// filepath.Clean on Unix: the shortest equivalent path, by lexical rules only.
// Repeated slashes become one, "." elements go, ".." removes the element before
// it (and is dropped at the root), a trailing slash goes; "" becomes ".".
std::string CleanPath(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  const size_t n = path.size();
  std::string out;
  size_t r = 0;
  size_t dotdot = 0;  // out[:dotdot] is the part ".." cannot remove
  if (rooted) {
    out = "/";
    r = 1;
    dotdot = 1;
  }
  while (r < n) {
    if (path[r] == '/') {
      ++r;
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      ++r;
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;
      if (out.size() > dotdot) {
        size_t w = out.size() - 1;
        while (w > dotdot && out[w] != '/') --w;
        out.resize(w);
      } else if (!rooted) {
        if (!out.empty()) out += '/';
        out += "..";
        dotdot = out.size();
      }
    } else {
      if (out.size() != (rooted ? 1u : 0u)) out += '/';
      for (; r < n && path[r] != '/'; ++r) out += path[r];
    }
  }
  return out.empty() ? "." : out;
}

// filepath.Dir: everything before the last slash, cleaned.
std::string DirPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  return CleanPath(slash == std::string_view::npos ? std::string_view() : path.substr(0, slash + 1));
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// ---------------------------------------------------------------------------
// 2. filepath.Match's syntax check. New() calls filepath.Match(pattern, ".")
// only for its error; Match parses the whole pattern whatever the name, so
// the check reduces to a linear scan: a backslash must escape something, and
// every [class] must be well formed.

// One character of a class, as filepath.Match's getEsc reads it. `upper` is
// set for the end of a range.
std::optional<std::string> CheckClassChar(std::string_view p, size_t& i, bool upper) {
  if (i >= p.size()) return "a character class is not closed with ']'";
  if (p[i] == '-') return "a '-' in a character class must be escaped or stand between two characters";
  if (p[i] == ']') {
    return upper ? "a range in a character class has no upper bound" : "a character class is empty";
  }
  if (p[i] == '\\' && ++i >= p.size()) return "a character class is not closed with ']'";
  const Decoded c = DecodeRune(p, i);
  if (c.rune == kRuneError && c.width == 1) return "a character class holds invalid UTF-8";
  i += c.width;
  if (i >= p.size()) return "a character class is not closed with ']'";
  return std::nullopt;
}

std::optional<std::string> CheckGlobSyntax(std::string_view p) {
  size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '\\') {
      if (i + 1 == p.size()) return "it ends with a backslash that escapes nothing";
      i += 2;
    } else if (p[i] == '[') {
      ++i;
      if (i < p.size() && p[i] == '^') ++i;
      for (int ranges = 0;; ++ranges) {
        if (i < p.size() && p[i] == ']' && ranges > 0) {
          ++i;
          break;
        }
        if (auto error = CheckClassChar(p, i, false)) return error;
        if (p[i] == '-') {
          ++i;
          if (auto error = CheckClassChar(p, i, true)) return error;
        }
      }
    } else {
      ++i;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// 3. Docker's translation (patternmatcher's Pattern.compile, '/' separator).

using MatchKind = PatternMatcher::MatchKind;

struct Translation {
  MatchKind kind;
  std::string regexp;  // empty unless kind is kRegexp
};

// Docker means to escape the regexp metacharacters . + ( ) | { } $ that have
// no meaning in a glob, but its bitmap holds 8 bits per byte for characters
// up to 127, so the bits of '|' '{' '}' (above 63) are shifted out and only
// these five are escaped.
bool IsEscapedByDocker(Rune c) { return c == '.' || c == '+' || c == '(' || c == ')' || c == '$'; }

Translation Translate(std::string_view pattern) {
  std::string re = "^";
  MatchKind kind = MatchKind::kExact;
  size_t pos = 0;
  const auto peek = [&] { return pos < pattern.size() ? DecodeRune(pattern, pos).rune : kNoRune; };
  const auto next = [&] {
    const Decoded d = DecodeRune(pattern, pos);
    pos += d.width;
    return d.rune;
  };
  if (peek() == kByteOrderMark) next();  // Go's text/scanner skips a leading BOM
  for (int i = 0; pos < pattern.size(); ++i) {
    const Rune ch = next();
    if (ch == '*') {
      if (peek() == '*') {
        next();
        if (peek() == '/') next();  // "**/" is read as "**"
        if (pos == pattern.size()) {
          if (kind == MatchKind::kExact) {
            kind = MatchKind::kPrefix;
          } else {
            re += ".*";
            kind = MatchKind::kRegexp;
          }
        } else {
          re += "(.*/)?";
          kind = MatchKind::kRegexp;
        }
        // Docker's test for a leading "**": whatever follows it, the pattern
        // is then matched as a plain suffix.
        if (i == 0) kind = MatchKind::kSuffix;
      } else {
        re += "[^/]*";
        kind = MatchKind::kRegexp;
      }
    } else if (ch == '?') {
      re += "[^/]";
      kind = MatchKind::kRegexp;
    } else if (IsEscapedByDocker(ch)) {
      re += '\\';
      re += static_cast<char>(ch);
    } else if (ch == '\\') {
      if (pos < pattern.size()) {
        re += '\\';
        AppendRune(re, next());
        kind = MatchKind::kRegexp;
      } else {
        re += '\\';
      }
    } else if (ch == '[' || ch == ']') {
      re += static_cast<char>(ch);
      kind = MatchKind::kRegexp;
    } else {
      AppendRune(re, ch);
    }
  }
  if (kind != MatchKind::kRegexp) return {kind, ""};
  re += '$';
  return {kind, std::move(re)};
}

// ---------------------------------------------------------------------------
// 4. Go regexp syntax (flags: Perl, so ^ $ are text anchors, . excludes \n,
// [^...] includes it) and a Thompson NFA.

// Go's limits, so that a hostile pattern costs bounded memory and stack:
// regexp/syntax refuses programs above 128 MiB of 40-byte instructions,
// nesting deeper than 1000, and counted repetitions above 1000.
constexpr uint64_t kMaxProgramSize = (uint64_t{128} << 20) / 40;
constexpr int kMaxHeight = 1000;
constexpr int kMaxRepeat = 1000;

class RegexpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Assertion : uint8_t { kBeginText, kEndText, kWordBoundary, kNotWordBoundary };

struct RuneRange {
  Rune lo;
  Rune hi;
};

// A set of runes kept as sorted, disjoint ranges once normalized.
class RuneSet {
 public:
  void Add(Rune lo, Rune hi) { ranges_.push_back({lo, hi}); }

  // Adds `group` (sorted and disjoint) or, when negated, its complement.
  void AddGroup(std::span<const RuneRange> group, bool negated) {
    if (!negated) {
      ranges_.insert(ranges_.end(), group.begin(), group.end());
      return;
    }
    Rune next = 0;
    for (const RuneRange& r : group) {
      if (r.lo > next) Add(next, r.lo - 1);
      next = r.hi + 1;
    }
    if (next <= kMaxRune) Add(next, kMaxRune);
  }

  void Normalize() {
    std::sort(ranges_.begin(), ranges_.end(), [](const RuneRange& a, const RuneRange& b) { return a.lo < b.lo; });
    std::vector<RuneRange> merged;
    for (const RuneRange& r : ranges_) {
      if (!merged.empty() && r.lo <= merged.back().hi + 1) {
        merged.back().hi = std::max(merged.back().hi, r.hi);
      } else {
        merged.push_back(r);
      }
    }
    ranges_ = std::move(merged);
  }

  // Requires Normalize().
  void Negate() {
    const std::vector<RuneRange> ranges = std::move(ranges_);
    ranges_.clear();
    AddGroup(ranges, true);
  }

  // Requires Normalize().
  bool Contains(Rune r) const {
    const auto after = std::upper_bound(ranges_.begin(), ranges_.end(), r,
                                        [](Rune value, const RuneRange& range) { return value < range.lo; });
    return after != ranges_.begin() && r <= std::prev(after)->hi;
  }

 private:
  std::vector<RuneRange> ranges_;
};

// Go's ASCII-only Perl and POSIX classes.
constexpr RuneRange kAlnum[] = {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}};
constexpr RuneRange kAlpha[] = {{'A', 'Z'}, {'a', 'z'}};
constexpr RuneRange kAscii[] = {{0x00, 0x7F}};
constexpr RuneRange kBlank[] = {{'\t', '\t'}, {' ', ' '}};
constexpr RuneRange kCntrl[] = {{0x00, 0x1F}, {0x7F, 0x7F}};
constexpr RuneRange kDigit[] = {{'0', '9'}};
constexpr RuneRange kGraph[] = {{'!', '~'}};
constexpr RuneRange kLower[] = {{'a', 'z'}};
constexpr RuneRange kPrint[] = {{' ', '~'}};
constexpr RuneRange kPunct[] = {{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}};
constexpr RuneRange kPosixSpace[] = {{'\t', '\r'}, {' ', ' '}};
constexpr RuneRange kPerlSpace[] = {{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}};
constexpr RuneRange kUpper[] = {{'A', 'Z'}};
constexpr RuneRange kWord[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
constexpr RuneRange kXdigit[] = {{'0', '9'}, {'A', 'F'}, {'a', 'f'}};

struct NamedGroup {
  std::string_view name;
  std::span<const RuneRange> ranges;
};

constexpr NamedGroup kPosixGroups[] = {
    {"alnum", kAlnum}, {"alpha", kAlpha}, {"ascii", kAscii}, {"blank", kBlank},
    {"cntrl", kCntrl}, {"digit", kDigit}, {"graph", kGraph}, {"lower", kLower},
    {"print", kPrint}, {"punct", kPunct}, {"space", kPosixSpace}, {"upper", kUpper},
    {"word", kWord},   {"xdigit", kXdigit},
};

// \d \s \w; the upper-case letter is the complement.
std::span<const RuneRange> PerlGroup(char letter) {
  switch (letter) {
    case 'd': case 'D': return kDigit;
    case 's': case 'S': return kPerlSpace;
    case 'w': case 'W': return kWord;
    default: return {};
  }
}

bool IsDigit(Rune c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(Rune c) { return IsDigit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// Go's \b looks at ASCII word characters only.
bool IsWordRune(Rune r) { return IsAsciiAlnum(r) || r == '_'; }

struct Node {
  enum class Kind : uint8_t { kEmpty, kLiteral, kClass, kAnyNotNewline, kAssertion, kConcat, kAlternate, kRepeat };
  Kind kind = Kind::kEmpty;
  Rune rune = 0;                           // kLiteral
  Assertion assertion = Assertion::kBeginText;  // kAssertion
  uint32_t set = 0;                        // kClass: index of its RuneSet
  int min = 0;                             // kRepeat
  int max = 0;                             // kRepeat; -1 is unbounded
  bool counted = false;                    // kRepeat written {n,m}, not * + ?
  int height = 1;                          // nesting depth of repetitions
  std::vector<Node> subs;
};

Node Leaf(Node::Kind kind) {
  Node node;
  node.kind = kind;
  return node;
}

Node Literal(Rune r) {
  Node node = Leaf(Node::Kind::kLiteral);
  node.rune = r;
  return node;
}

Node Assert(Assertion assertion) {
  Node node = Leaf(Node::Kind::kAssertion);
  node.assertion = assertion;
  return node;
}

// regexp/syntax's repeatIsValid: nested counted repetitions may not multiply
// past kMaxRepeat.
bool RepeatIsValid(const Node& node, int limit) {
  if (node.kind == Node::Kind::kRepeat && node.counted) {
    int m = node.max;
    if (m == 0) return true;
    if (m < 0) m = node.min;
    if (m > limit) return false;
    if (m > 0) limit /= m;
  }
  return std::all_of(node.subs.begin(), node.subs.end(), [&](const Node& sub) { return RepeatIsValid(sub, limit); });
}

int Unhex(Rune c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsOctal(char c) { return c >= '0' && c <= '7'; }

// Parses a regexp as Go's regexp/syntax does with the Perl flags, for the
// texts Translate produces. Groups appear only as Docker's "(.*/)?", so
// recursion is one level deep.
class RegexpParser {
 public:
  explicit RegexpParser(std::string_view text) : text_(text) {}

  Node Parse() {
    Node root = ParseAlternation();
    if (!AtEnd()) throw RegexpError("unexpected )");
    return root;
  }

  std::vector<RuneSet> TakeSets() { return std::move(sets_); }

 private:
  bool AtEnd() const { return pos_ == text_.size(); }
  bool Next(char c) const { return pos_ + 1 < text_.size() && text_[pos_ + 1] == c; }

  Rune TakeRune() {
    const Decoded d = DecodeRune(text_, pos_);
    pos_ += d.width;
    return d.rune;
  }

  Node ParseAlternation() {
    std::vector<Node> alternatives;
    alternatives.push_back(ParseConcatenation());
    while (!AtEnd() && text_[pos_] == '|') {
      ++pos_;
      alternatives.push_back(ParseConcatenation());
    }
    if (alternatives.size() == 1) return std::move(alternatives.front());
    Node node = Leaf(Node::Kind::kAlternate);
    node.subs = std::move(alternatives);
    return node;
  }

  Node ParseConcatenation() {
    std::vector<Node> items;
    bool after_repeat = false;
    while (!AtEnd() && text_[pos_] != '|' && text_[pos_] != ')') {
      bool repeat = false;
      switch (text_[pos_]) {
        case '(': {
          if (Next('?')) throw RegexpError("flags and non-capturing groups (?...) are not supported");
          ++pos_;
          Node group = ParseAlternation();
          if (AtEnd()) throw RegexpError("missing closing )");
          ++pos_;
          items.push_back(std::move(group));
          break;
        }
        case '^':
          ++pos_;
          items.push_back(Assert(Assertion::kBeginText));
          break;
        case '$':
          ++pos_;
          items.push_back(Assert(Assertion::kEndText));
          break;
        case '.':
          ++pos_;
          items.push_back(Leaf(Node::Kind::kAnyNotNewline));
          break;
        case '[':
          items.push_back(ParseClass());
          break;
        case '*':
        case '+':
        case '?': {
          const char op = text_[pos_++];
          ApplyRepeat(items, after_repeat, op == '+' ? 1 : 0, op == '?' ? 1 : -1, false);
          repeat = true;
          break;
        }
        case '{': {
          const size_t start = pos_;
          int min = 0;
          int max = 0;
          if (!ParseRepeatBounds(min, max)) {  // not a repetition: a literal '{'
            pos_ = start + 1;
            items.push_back(Literal('{'));
            break;
          }
          if (min < 0 || min > kMaxRepeat || max > kMaxRepeat || (max >= 0 && min > max)) {
            throw RegexpError("invalid repeat count " + std::string(text_.substr(start, pos_ - start)));
          }
          ApplyRepeat(items, after_repeat, min, max, true);
          repeat = true;
          break;
        }
        case '\\':
          ParseEscapeItem(items);
          break;
        default:
          items.push_back(Literal(TakeRune()));
      }
      after_repeat = repeat;
    }
    if (items.size() == 1) return std::move(items.front());
    if (items.empty()) return Leaf(Node::Kind::kEmpty);
    Node node = Leaf(Node::Kind::kConcat);
    node.subs = std::move(items);
    return node;
  }

  void ApplyRepeat(std::vector<Node>& items, bool after_repeat, int min, int max, bool counted) {
    // A '?' after a repetition makes it non-greedy, which changes what a
    // match captures but never whether there is one.
    if (!AtEnd() && text_[pos_] == '?') ++pos_;
    if (after_repeat) throw RegexpError("invalid nested repetition operator");
    if (items.empty()) throw RegexpError("missing argument to repetition operator");
    Node repeat = Leaf(Node::Kind::kRepeat);
    repeat.min = min;
    repeat.max = max;
    repeat.counted = counted;
    repeat.height = items.back().height + 1;
    if (repeat.height > kMaxHeight) throw RegexpError("expression nests too deeply");
    repeat.subs.push_back(std::move(items.back()));
    items.back() = std::move(repeat);
    if (counted && (min >= 2 || max >= 2) && !RepeatIsValid(items.back(), kMaxRepeat)) {
      throw RegexpError("invalid repeat count: nested repetitions exceed 1000");
    }
  }

  // {n} {n,} {n,m}, with Go's rules: no leading zeros, and a number too large
  // to hold makes the count invalid rather than the '{' literal.
  bool ParseRepeatBounds(int& min, int& max) {
    ++pos_;  // '{'
    if (!ParseInt(min) || AtEnd()) return false;
    if (text_[pos_] != ',') {
      max = min;
    } else {
      ++pos_;
      if (AtEnd()) return false;
      if (text_[pos_] == '}') {
        max = -1;
      } else {
        if (!ParseInt(max)) return false;
        if (max < 0) min = -1;
      }
    }
    if (AtEnd() || text_[pos_] != '}') return false;
    ++pos_;
    return true;
  }

  bool ParseInt(int& n) {
    constexpr int kTooLarge = 100'000'000;  // Go stops counting here and reports -1
    if (AtEnd() || !IsDigit(text_[pos_])) return false;
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && IsDigit(text_[pos_ + 1])) {
      return false;
    }
    n = 0;
    for (; !AtEnd() && IsDigit(text_[pos_]); ++pos_) {
      if (n >= kTooLarge) {
        n = -1;
      } else if (n >= 0) {
        n = n * 10 + (text_[pos_] - '0');
      }
    }
    return true;
  }

  // The assertion \A, \z, \b or \B names by its letter.
  static std::optional<Assertion> EscapedAssertion(char letter) {
    switch (letter) {
      case 'A': return Assertion::kBeginText;
      case 'z': return Assertion::kEndText;
      case 'b': return Assertion::kWordBoundary;
      case 'B': return Assertion::kNotWordBoundary;
      default: return std::nullopt;
    }
  }

  // A backslash outside a class: an assertion, \Q...\E, a class or a literal.
  void ParseEscapeItem(std::vector<Node>& items) {
    if (pos_ + 1 < text_.size()) {
      if (std::optional<Assertion> assertion = EscapedAssertion(text_[pos_ + 1])) {
        pos_ += 2;
        items.push_back(Assert(*assertion));
        return;
      }
      switch (text_[pos_ + 1]) {
        case 'C':
          throw RegexpError("invalid escape sequence \\C");
        case 'Q': {  // everything up to \E (or the end) is literal
          pos_ += 2;
          const size_t end = text_.find("\\E", pos_);
          const size_t stop = end == std::string_view::npos ? text_.size() : end;
          while (pos_ < stop) items.push_back(Literal(TakeRune()));
          if (end != std::string_view::npos) pos_ = end + 2;
          return;
        }
        default:
          break;
      }
    }
    if (Next('p') || Next('P')) throw RegexpError("Unicode character classes (\\p, \\P) are not supported");
    if (pos_ + 1 < text_.size() && !PerlGroup(text_[pos_ + 1]).empty()) {
      RuneSet set;
      AddPerlGroup(set);
      items.push_back(ClassNode(std::move(set), false));
      return;
    }
    items.push_back(Literal(ParseEscape()));
  }

  // At "\d" and the like: adds the group and moves past it.
  void AddPerlGroup(RuneSet& set) {
    const char letter = text_[pos_ + 1];
    set.AddGroup(PerlGroup(letter), letter >= 'A' && letter <= 'Z');
    pos_ += 2;
  }

  // Go's parseEscape: the rune an escape sequence stands for.
  Rune ParseEscape() {
    const size_t start = pos_++;
    if (AtEnd()) throw RegexpError("trailing backslash at end of expression");
    const Rune c = TakeRune();
    if (c < 0x80 && !IsAsciiAlnum(c)) return c;  // escaped punctuation is itself
    switch (c) {
      case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        if (AtEnd() || !IsOctal(text_[pos_])) break;  // a backreference, which Go refuses
        [[fallthrough]];
      case '0': {
        Rune r = c - '0';
        for (int digits = 1; digits < 3 && !AtEnd() && IsOctal(text_[pos_]); ++digits) r = r * 8 + (text_[pos_++] - '0');
        return r;
      }
      case 'x': {
        if (AtEnd()) break;
        const Rune first = TakeRune();
        if (first == '{') {
          Rune r = 0;
          int digits = 0;
          while (true) {
            if (AtEnd()) throw RegexpError("invalid escape sequence " + std::string(text_.substr(start)));
            const Rune d = TakeRune();
            if (d == '}') break;
            if (Unhex(d) < 0 || (r = r * 16 + Unhex(d)) > kMaxRune) {
              throw RegexpError("invalid escape sequence " + std::string(text_.substr(start, pos_ - start)));
            }
            ++digits;
          }
          if (digits == 0) break;
          return r;
        }
        const Rune second = AtEnd() ? kNoRune : TakeRune();
        if (Unhex(first) < 0 || Unhex(second) < 0) break;
        return Unhex(first) * 16 + Unhex(second);
      }
      case 'a': return '\a';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'v': return '\v';
      default: break;
    }
    throw RegexpError("invalid escape sequence " + std::string(text_.substr(start, pos_ - start)));
  }

  Node ClassNode(RuneSet set, bool negated) {
    set.Normalize();
    if (negated) set.Negate();
    sets_.push_back(std::move(set));
    Node node = Leaf(Node::Kind::kClass);
    node.set = static_cast<uint32_t>(sets_.size() - 1);
    return node;
  }

  // Go's parseClass. A ']' right after '[' or '[^' is a member, "[:name:]"
  // is a POSIX class wherever ":]" follows, and "a-" before ']' is two members.
  Node ParseClass() {
    const size_t start = pos_++;
    RuneSet set;
    bool negated = false;
    if (!AtEnd() && text_[pos_] == '^') {
      negated = true;
      ++pos_;
    }
    for (bool first = true; AtEnd() || text_[pos_] != ']' || first; first = false) {
      if (text_.size() - pos_ > 2 && text_[pos_] == '[' && text_[pos_ + 1] == ':') {
        const size_t close = text_.find(":]", pos_ + 2);
        if (close != std::string_view::npos) {
          const std::string_view spelled = text_.substr(pos_, close + 2 - pos_);
          std::string_view name = spelled.substr(2, spelled.size() - 4);
          const bool complement = name.starts_with('^');
          if (complement) name.remove_prefix(1);
          const auto group = std::find_if(std::begin(kPosixGroups), std::end(kPosixGroups),
                                          [&](const NamedGroup& g) { return g.name == name; });
          if (group == std::end(kPosixGroups)) {
            throw RegexpError("invalid character class range " + std::string(spelled));
          }
          set.AddGroup(group->ranges, complement);
          pos_ = close + 2;
          continue;
        }
      }
      if (!AtEnd() && text_[pos_] == '\\' && (Next('p') || Next('P'))) {
        throw RegexpError("Unicode character classes (\\p, \\P) are not supported");
      }
      if (text_.size() - pos_ >= 2 && text_[pos_] == '\\' && !PerlGroup(text_[pos_ + 1]).empty()) {
        AddPerlGroup(set);
        continue;
      }
      const size_t range_start = pos_;
      const Rune lo = ParseClassChar(start);
      Rune hi = lo;
      if (text_.size() - pos_ >= 2 && text_[pos_] == '-' && text_[pos_ + 1] != ']') {
        ++pos_;
        hi = ParseClassChar(start);
        if (hi < lo) {
          throw RegexpError("invalid character class range " +
                            Quote(text_.substr(range_start, pos_ - range_start)) + " (its bounds are reversed)");
        }
      }
      set.Add(lo, hi);
    }
    ++pos_;  // ']'
    return ClassNode(std::move(set), negated);
  }

  Rune ParseClassChar(size_t class_start) {
    if (AtEnd()) throw RegexpError("missing closing ] in " + std::string(text_.substr(class_start)));
    return text_[pos_] == '\\' ? ParseEscape() : TakeRune();
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::vector<RuneSet> sets_;
};

// The number of instructions Program::Compile emits for `node`, capped just
// above kMaxProgramSize.
uint64_t ProgramSize(const Node& node) {
  const auto cap = [](uint64_t n) { return std::min(n, kMaxProgramSize + 1); };
  switch (node.kind) {
    case Node::Kind::kEmpty:
      return 0;
    case Node::Kind::kLiteral:
    case Node::Kind::kClass:
    case Node::Kind::kAnyNotNewline:
    case Node::Kind::kAssertion:
      return 1;
    case Node::Kind::kConcat:
    case Node::Kind::kAlternate: {
      uint64_t size = node.kind == Node::Kind::kAlternate ? 2 * (node.subs.size() - 1) : 0;
      for (const Node& sub : node.subs) size = cap(size + ProgramSize(sub));
      return size;
    }
    case Node::Kind::kRepeat: {
      const uint64_t sub = ProgramSize(node.subs.front());
      const uint64_t optional = node.max < 0 ? sub + 2 : static_cast<uint64_t>(node.max - node.min) * (sub + 1);
      return cap(static_cast<uint64_t>(node.min) * sub + optional);
    }
  }
  return 0;
}

// The NFA threads at one text position: a sparse set of instruction indexes
// (Briggs and Torczon), so Clear is O(1) and stale entries of sparse_ are
// harmless; the vectors grow to the largest program and are then reused.
class ThreadList {
 public:
  void Reset(size_t program_size) {
    if (dense_.size() < program_size) {
      dense_.resize(program_size);
      sparse_.resize(program_size);
    }
    size_ = 0;
  }
  void Clear() { size_ = 0; }
  bool Empty() const { return size_ == 0; }
  bool Insert(uint32_t pc) {
    const uint32_t slot = sparse_[pc];
    if (slot < size_ && dense_[slot] == pc) return false;
    sparse_[pc] = static_cast<uint32_t>(size_);
    dense_[size_++] = pc;
    return true;
  }
  std::span<const uint32_t> Items() const { return {dense_.data(), size_}; }

 private:
  std::vector<uint32_t> dense_;
  std::vector<uint32_t> sparse_;
  size_t size_ = 0;
};

// Scratch space for the matches of one call: the threads at the current and
// the next text position, and the stack for following empty transitions.
struct MatchScratch {
  ThreadList current;
  ThreadList next;
  std::vector<uint32_t> stack;
};

// The position between two runes of a text, for the assertions.
struct Position {
  bool begin;
  bool end;
  Rune before;
  Rune after;
};

bool Holds(Assertion assertion, const Position& at) {
  switch (assertion) {
    case Assertion::kBeginText: return at.begin;
    case Assertion::kEndText: return at.end;
    case Assertion::kWordBoundary: return IsWordRune(at.before) != IsWordRune(at.after);
    case Assertion::kNotWordBoundary: return IsWordRune(at.before) == IsWordRune(at.after);
  }
  return false;
}

// A compiled regexp: instructions run by simulating all NFA threads in
// lockstep, so time is O(text length x program size) and no input can make
// it backtrack or recurse.
class Program {
 public:
  static Program Compile(std::string_view regexp) {
    RegexpParser parser(regexp);
    const Node root = parser.Parse();
    if (ProgramSize(root) + 1 > kMaxProgramSize) throw RegexpError("expression too large");
    Program program;
    program.sets_ = parser.TakeSets();
    program.Emit(root);
    program.insts_.push_back({Op::kMatch});
    // Docker's regexps open with ^; only a '|' in the pattern lets an
    // alternative start elsewhere, which needs a thread started at every position.
    const Node& first = root.kind == Node::Kind::kConcat ? root.subs.front() : root;
    program.anchored_ = IsAssertion(first, Assertion::kBeginText);
    program.FindRequiredLiterals(root);
    program.PrepareBitParallel();
    return program;
  }

  // regexp.MatchString: whether a match starts anywhere in `text`.
  bool Matches(std::string_view text, MatchScratch& scratch) const {
    if (!text.starts_with(required_prefix_) || !text.ends_with(required_suffix_)) return false;
    return follow_.empty() ? MatchesByThreadList(text, scratch) : MatchesByBits(text);
  }

 private:
  // Instructions that consume a rune or test an assertion continue at the
  // next instruction; kSplit and kJump name their targets. kMatch is last.
  enum class Op : uint8_t { kRune, kClass, kAnyNotNewline, kAssertion, kSplit, kJump, kMatch };
  struct Inst {
    Op op;
    Assertion assertion = Assertion::kBeginText;
    uint32_t arg = 0;  // kRune: the rune; kClass: its set; kSplit, kJump: the target
    uint32_t alt = 0;  // kSplit: the other target
  };

  // A program this small, whose only assertions are ^ and $ (nearly every
  // regexp Docker builds), runs bit-parallel: a set of threads is one word.
  static constexpr size_t kMaxBitParallel = 64;
  static constexpr size_t kAsciiRunes = 128;
  static constexpr int kContexts = 4;  // at the start of the text or not, at its end or not

  static bool IsAssertion(const Node& node, Assertion assertion) {
    return node.kind == Node::Kind::kAssertion && node.assertion == assertion;
  }
  static int ContextOf(bool begin, bool end) { return (begin ? 1 : 0) | (end ? 2 : 0); }
  static uint64_t Bit(uint32_t pc) { return uint64_t{1} << pc; }

  bool Accepts(const Inst& inst, Rune r) const {
    switch (inst.op) {
      case Op::kRune: return r == static_cast<Rune>(inst.arg);
      case Op::kClass: return sets_[inst.arg].Contains(r);
      case Op::kAnyNotNewline: return r != '\n';
      default: return false;
    }
  }

  // Most paths fail a pattern on its literal text ("**/*.log" needs ".log"
  // at the end), so the literals right after the leading ^ and right before
  // the closing $ are checked as bytes before the NFA runs. Comparing bytes
  // is exact for runes that cannot come from invalid UTF-8 in the text, so
  // collection stops at U+FFFD (what an invalid byte decodes to) and at
  // surrogates (which never match).
  void FindRequiredLiterals(const Node& root) {
    if (root.kind != Node::Kind::kConcat) return;
    const std::vector<Node>& items = root.subs;
    const auto plain = [](const Node& node) {
      return node.kind == Node::Kind::kLiteral && node.rune != kRuneError && !(node.rune >= 0xD800 && node.rune <= 0xDFFF);
    };
    if (IsAssertion(items.front(), Assertion::kBeginText)) {
      for (size_t i = 1; i < items.size() && plain(items[i]); ++i) AppendRune(required_prefix_, items[i].rune);
    }
    if (IsAssertion(items.back(), Assertion::kEndText)) {
      size_t first = items.size() - 1;
      while (first > 0 && plain(items[first - 1])) --first;
      for (size_t i = first; i + 1 < items.size(); ++i) AppendRune(required_suffix_, items[i].rune);
    }
  }

  uint32_t Push(Inst inst) {
    insts_.push_back(inst);
    return static_cast<uint32_t>(insts_.size() - 1);
  }
  uint32_t Here() const { return static_cast<uint32_t>(insts_.size()); }

  void Emit(const Node& node) {
    switch (node.kind) {
      case Node::Kind::kEmpty:
        return;
      case Node::Kind::kLiteral:
        Push({Op::kRune, Assertion::kBeginText, static_cast<uint32_t>(node.rune)});
        return;
      case Node::Kind::kClass:
        Push({Op::kClass, Assertion::kBeginText, node.set});
        return;
      case Node::Kind::kAnyNotNewline:
        Push({Op::kAnyNotNewline});
        return;
      case Node::Kind::kAssertion:
        Push({Op::kAssertion, node.assertion});
        return;
      case Node::Kind::kConcat:
        for (const Node& sub : node.subs) Emit(sub);
        return;
      case Node::Kind::kAlternate: {
        std::vector<uint32_t> exits;
        for (size_t i = 0; i + 1 < node.subs.size(); ++i) {
          const uint32_t split = Push({Op::kSplit});
          insts_[split].arg = Here();
          Emit(node.subs[i]);
          exits.push_back(Push({Op::kJump}));
          insts_[split].alt = Here();
        }
        Emit(node.subs.back());
        for (const uint32_t exit : exits) insts_[exit].arg = Here();
        return;
      }
      case Node::Kind::kRepeat: {
        const Node& sub = node.subs.front();
        for (int i = 0; i < node.min; ++i) Emit(sub);
        if (node.max < 0) {  // then any number more
          const uint32_t loop = Push({Op::kSplit});
          insts_[loop].arg = Here();
          Emit(sub);
          Push({Op::kJump, Assertion::kBeginText, loop});
          insts_[loop].alt = Here();
          return;
        }
        std::vector<uint32_t> skips;  // then up to max - min more, each optional
        for (int i = node.min; i < node.max; ++i) {
          const uint32_t split = Push({Op::kSplit});
          insts_[split].arg = Here();
          skips.push_back(split);
          Emit(sub);
        }
        for (const uint32_t skip : skips) insts_[skip].alt = Here();
        return;
      }
    }
  }

  // Walks the empty transitions from `pc` depth first: jumps, both arms of
  // splits, and assertions that hold at `at`. `enter(pc)` says whether `pc`
  // is seen for the first time (else it is skipped); `reach(pc)` gets every
  // other instruction the walk arrives at and returns true to stop it.
  // Returns whether it was stopped.
  template <typename Enter, typename Reach>
  bool WalkEmptyTransitions(uint32_t pc, const Position& at, std::vector<uint32_t>& stack, Enter enter,
                            Reach reach) const {
    stack.clear();
    stack.push_back(pc);
    while (!stack.empty()) {
      const uint32_t top = stack.back();
      stack.pop_back();
      if (!enter(top)) continue;
      const Inst& inst = insts_[top];
      switch (inst.op) {
        case Op::kJump:
          stack.push_back(inst.arg);
          break;
        case Op::kSplit:
          stack.push_back(inst.alt);
          stack.push_back(inst.arg);
          break;
        case Op::kAssertion:
          if (Holds(inst.assertion, at)) stack.push_back(top + 1);
          break;
        default:
          if (reach(top)) return true;
      }
    }
    return false;
  }

  // Adds the thread at `pc` and every thread its empty transitions reach.
  // Returns true when one of them is a match.
  bool AddThread(ThreadList& list, uint32_t pc, const Position& at, std::vector<uint32_t>& stack) const {
    return WalkEmptyTransitions(
        pc, at, stack, [&](uint32_t top) { return list.Insert(top); },
        [&](uint32_t top) { return insts_[top].op == Op::kMatch; });
  }

  bool MatchesByThreadList(std::string_view text, MatchScratch& scratch) const {
    ThreadList* current = &scratch.current;
    ThreadList* next = &scratch.next;
    current->Reset(insts_.size());
    next->Reset(insts_.size());
    size_t pos = 0;
    Rune before = kNoRune;
    Decoded at = text.empty() ? Decoded{kNoRune, 0} : DecodeRune(text, 0);
    while (true) {
      const Position here{pos == 0, pos == text.size(), before, at.rune};
      if ((pos == 0 || !anchored_) && AddThread(*current, 0, here, scratch.stack)) return true;
      if (pos == text.size() || (anchored_ && current->Empty())) return false;
      const size_t after_pos = pos + at.width;
      const Decoded following = after_pos < text.size() ? DecodeRune(text, after_pos) : Decoded{kNoRune, 0};
      const Position there{false, after_pos == text.size(), at.rune, following.rune};
      next->Clear();
      for (const uint32_t pc : current->Items()) {
        if (Accepts(insts_[pc], at.rune) && AddThread(*next, pc + 1, there, scratch.stack)) return true;
      }
      std::swap(current, next);
      pos = after_pos;
      before = at.rune;
      at = following;
    }
  }

  // The consuming and match instructions reached from `pc` by empty
  // transitions, in a context where only ^ and $ can be asserted.
  uint64_t Closure(uint32_t pc, const Position& at) const {
    uint64_t seen = 0;
    uint64_t reached = 0;
    std::vector<uint32_t> stack;
    WalkEmptyTransitions(
        pc, at, stack,
        [&](uint32_t top) {
          if ((seen & Bit(top)) != 0) return false;
          seen |= Bit(top);
          return true;
        },
        [&](uint32_t top) {
          reached |= Bit(top);
          return false;
        });
    return reached;
  }

  void PrepareBitParallel() {
    const size_t n = insts_.size();
    if (n > kMaxBitParallel) return;
    for (const Inst& inst : insts_) {
      if (inst.op == Op::kAssertion && inst.assertion != Assertion::kBeginText &&
          inst.assertion != Assertion::kEndText) {
        return;
      }
    }
    follow_.assign(kContexts * n, 0);
    for (int context = 0; context < kContexts; ++context) {
      const Position at{(context & 1) != 0, (context & 2) != 0, kNoRune, kNoRune};
      for (uint32_t pc = 0; pc < n; ++pc) follow_[context * n + pc] = Closure(pc, at);
    }
    for (uint32_t pc = 0; pc + 1 < n; ++pc) {  // the last instruction is kMatch
      for (Rune r = 0; r < static_cast<Rune>(kAsciiRunes); ++r) {
        if (Accepts(insts_[pc], r)) ascii_accepts_[r] |= Bit(pc);
      }
    }
  }

  bool MatchesByBits(std::string_view text) const {
    const size_t n = insts_.size();
    const uint64_t match = Bit(static_cast<uint32_t>(n - 1));
    uint64_t threads = follow_[ContextOf(true, text.empty()) * n];
    size_t pos = 0;
    while (true) {
      if ((threads & match) != 0) return true;
      if (pos == text.size() || (anchored_ && threads == 0)) return false;
      const unsigned char byte = static_cast<unsigned char>(text[pos]);
      const Decoded at = byte < kAsciiRunes ? Decoded{byte, 1} : DecodeRune(text, pos);
      uint64_t accepting = 0;
      if (byte < kAsciiRunes) {
        accepting = threads & ascii_accepts_[byte];
      } else {
        for (uint64_t bits = threads; bits != 0; bits &= bits - 1) {
          const uint32_t pc = static_cast<uint32_t>(std::countr_zero(bits));
          if (Accepts(insts_[pc], at.rune)) accepting |= Bit(pc);
        }
      }
      pos += at.width;
      const uint64_t* follow = &follow_[ContextOf(false, pos == text.size()) * n];
      threads = anchored_ ? 0 : follow[0];
      for (uint64_t bits = accepting; bits != 0; bits &= bits - 1) threads |= follow[std::countr_zero(bits) + 1];
    }
  }

  std::vector<Inst> insts_;
  std::vector<RuneSet> sets_;
  bool anchored_ = true;
  std::string required_prefix_;  // the text must start with these bytes
  std::string required_suffix_;  // and end with these
  // Bit-parallel tables, empty when the program does not qualify.
  std::vector<uint64_t> follow_;  // [context * size + pc]: Closure(pc) in that context
  std::array<uint64_t, kAsciiRunes> ascii_accepts_{};  // instructions that consume each ASCII rune
};

// What matching needs beyond the public Pattern.
struct CompiledPattern {
  std::string source;              // as given, trimmed, for messages
  size_t components = 1;           // "/"-separated parts of the pattern
  std::optional<Program> program;  // kRegexp patterns that Go's regexp accepts
  std::string regexp_error;        // kRegexp patterns it rejects: why
};

}  // namespace

// ---------------------------------------------------------------------------
// 5. PatternMatcher.

struct PatternMatcher::Impl {
  std::vector<Pattern> patterns;
  std::vector<CompiledPattern> compiled;
  bool has_exclusions = false;

  // Pattern.match.
  bool MatchOne(size_t i, std::string_view path, MatchScratch& scratch) const {
    const Pattern& pattern = patterns[i];
    const std::string_view text = pattern.text;
    switch (pattern.kind) {
      case MatchKind::kExact:
        return path == text;
      case MatchKind::kPrefix:  // the text ends with "**"
        return path.starts_with(text.substr(0, text.size() - 2));
      case MatchKind::kSuffix: {  // the text starts with "**"
        const std::string_view suffix = text.substr(2);
        return path.ends_with(suffix) || (!suffix.empty() && suffix[0] == '/' && path == suffix.substr(1));
      }
      case MatchKind::kRegexp: {
        const CompiledPattern& compiled_pattern = compiled[i];
        if (!compiled_pattern.program) {
          throw IgnoreError("invalid ignore pattern " + Quote(compiled_pattern.source) + ": " +
                            compiled_pattern.regexp_error + " in the regular expression " + pattern.regexp +
                            " that Docker matches it with");
        }
        return compiled_pattern.program->Matches(path, scratch);
      }
    }
    return false;
  }

  // Whether pattern i matches a directory of `parent` (a path's filepath.Dir):
  // "a", then "a/b", and so on up to `parent` itself.
  bool MatchAncestor(size_t i, std::string_view parent, MatchScratch& scratch) const {
    if (parent == ".") return false;
    for (size_t end = parent.find('/');; end = parent.find('/', end + 1)) {
      if (MatchOne(i, parent.substr(0, end), scratch)) return true;
      if (end == std::string_view::npos) return false;
    }
  }

  // The deprecated PatternMatcher.Matches.
  bool LegacyMatch(std::string_view file) const {
    MatchScratch scratch;
    const std::string parent = DirPath(file);
    const size_t parent_components = static_cast<size_t>(std::count(parent.begin(), parent.end(), '/')) + 1;
    bool matched = false;
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (patterns[i].exclusion != matched) continue;
      bool match = MatchOne(i, file, scratch);
      const size_t components = compiled[i].components;
      if (!match && parent != "." && components <= parent_components) {
        size_t end = 0;  // the end of the components-th directory of parent
        for (size_t k = 0; k < components; ++k) end = parent.find('/', k == 0 ? 0 : end + 1);
        match = MatchOne(i, std::string_view(parent).substr(0, end), scratch);
      }
      if (match) matched = !patterns[i].exclusion;
    }
    return matched;
  }
};

PatternMatcher::PatternMatcher(const std::vector<std::string>& patterns) {
  auto impl = std::make_shared<Impl>();
  for (const std::string& given : patterns) {
    const std::string_view source = TrimSpace(given);
    if (source.empty()) continue;
    Pattern pattern;
    pattern.text = CleanPath(source);
    if (pattern.text[0] == '!') {
      if (pattern.text.size() == 1) {
        throw IgnoreError("invalid ignore pattern \"!\": a '!' must be followed by the pattern it re-includes");
      }
      pattern.exclusion = true;
      pattern.text.erase(0, 1);
      impl->has_exclusions = true;
    }
    if (const auto error = CheckGlobSyntax(pattern.text)) {
      throw IgnoreError("invalid ignore pattern " + Quote(source) + ": " + *error);
    }
    Translation translation = Translate(pattern.text);
    pattern.kind = translation.kind;
    pattern.regexp = std::move(translation.regexp);

    CompiledPattern compiled;
    compiled.source = std::string(source);
    compiled.components = static_cast<size_t>(std::count(pattern.text.begin(), pattern.text.end(), '/')) + 1;
    if (pattern.kind == MatchKind::kRegexp) {
      // Docker compiles the regexp on first use and reports a failure then,
      // so a pattern that is never tried is never an error.
      try {
        compiled.program = Program::Compile(pattern.regexp);
      } catch (const RegexpError& e) {
        compiled.regexp_error = e.what();
      }
    }
    impl->patterns.push_back(std::move(pattern));
    impl->compiled.push_back(std::move(compiled));
  }
  impl_ = std::move(impl);
}

bool PatternMatcher::Excluded(std::string_view path) const {
  const Impl& impl = *impl_;
  MatchScratch scratch;
  std::optional<std::string> parent;  // filepath.Dir(path), computed when first needed
  bool excluded = false;
  for (size_t i = 0; i < impl.patterns.size(); ++i) {
    // A pattern can only change the outcome: an exclusion is tried on an
    // excluded path, any other pattern on an included one.
    if (impl.patterns[i].exclusion != excluded) continue;
    bool match = impl.MatchOne(i, path, scratch);
    if (!match) {
      if (!parent) parent = DirPath(path);
      match = impl.MatchAncestor(i, *parent, scratch);
    }
    if (match) excluded = !impl.patterns[i].exclusion;
  }
  return excluded;
}

PatternMatcher::MatchInfo PatternMatcher::Match(std::string_view path, const MatchInfo& parent) const {
  const Impl& impl = *impl_;
  const size_t count = impl.patterns.size();
  const bool has_parent = !parent.matched_.empty();
  if (has_parent && parent.matched_.size() != count) {
    throw std::invalid_argument("PatternMatcher::Match: the parent's MatchInfo comes from another PatternMatcher");
  }
  MatchScratch scratch;
  std::optional<std::string> parent_dir;
  MatchInfo info;
  info.matched_.assign(count, false);
  for (size_t i = 0; i < count; ++i) {
    bool match = has_parent && parent.matched_[i];
    if (!match) {
      if (impl.patterns[i].exclusion != info.excluded_) continue;
      match = impl.MatchOne(i, path, scratch);
      if (!match && !has_parent) {
        if (!parent_dir) parent_dir = DirPath(path);
        match = impl.MatchAncestor(i, *parent_dir, scratch);
      }
    }
    info.matched_[i] = match;
    if (match) info.excluded_ = !impl.patterns[i].exclusion;
  }
  return info;
}

bool PatternMatcher::HasExclusions() const { return impl_->has_exclusions; }

const std::vector<PatternMatcher::Pattern>& PatternMatcher::patterns() const { return impl_->patterns; }

bool LegacyMatches(std::string_view file, const std::vector<std::string>& patterns) {
  const PatternMatcher matcher(patterns);
  const std::string cleaned = CleanPath(file);
  if (cleaned == ".") return false;  // Docker never excludes the whole context this way
  return matcher.impl_->LegacyMatch(cleaned);
}

std::vector<std::string> ReadIgnoreFile(std::string_view content) {
  std::vector<std::string> patterns;
  for (bool first_line = true; !content.empty(); first_line = false) {
    const size_t newline = content.find('\n');
    std::string_view line = content.substr(0, newline);
    content = newline == std::string_view::npos ? std::string_view() : content.substr(newline + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (first_line && line.starts_with(kUtf8Bom)) line.remove_prefix(kUtf8Bom.size());
    if (line.starts_with('#')) continue;  // a comment only in column 0
    std::string_view trimmed = TrimSpace(line);
    if (trimmed.empty()) continue;
    const bool exclusion = trimmed[0] == '!';
    if (exclusion) trimmed = TrimSpace(trimmed.substr(1));
    std::string pattern;
    if (!trimmed.empty()) {
      pattern = CleanPath(trimmed);
      if (pattern.size() > 1 && pattern[0] == '/') pattern.erase(0, 1);  // "/a" means "a": the context is the root
    }
    patterns.push_back(exclusion ? "!" + pattern : std::move(pattern));
  }
  return patterns;
}

std::optional<std::filesystem::path> FindIgnoreFile(const std::filesystem::path& context_dir,
                                                    const std::filesystem::path& dockerfile) {
  if (!dockerfile.empty()) {
    std::filesystem::path specific = dockerfile;
    specific += ".dockerignore";
    if (std::filesystem::is_regular_file(specific)) return specific;
  }
  std::filesystem::path shared = context_dir / ".dockerignore";
  if (std::filesystem::is_regular_file(shared)) return shared;
  return std::nullopt;
}

}  // namespace bld::parser
