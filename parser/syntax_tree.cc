#include "parser/syntax_tree.h"

#include <array>
#include <cctype>
#include <optional>

#include "parser/json_array.h"
#include "parser/shell_lexer.h"

namespace bld::parser {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// The instructions whose shell form may carry heredocs.
bool CanHoldHeredoc(std::string_view lower_keyword) {
  return lower_keyword == "run" || lower_keyword == "copy" || lower_keyword == "add";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The multi-byte encodings of the characters Go's unicode.IsSpace accepts.
constexpr std::array<std::string_view, 17> kMultiByteSpaces = {
    "\xC2\x85",     "\xC2\xA0",     "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81", "\xE2\x80\x82",
    "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88",
    "\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF"};
constexpr std::array<std::string_view, 2> kMoreMultiByteSpaces = {"\xE2\x81\x9F", "\xE3\x80\x80"};

bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

std::string_view TrimLeft(std::string_view s) {
  size_t len;
  while (!s.empty() && IsSpaceAt(s, 0, &len)) s.remove_prefix(len);
  return s;
}

std::string_view TrimRight(std::string_view s) {
  for (;;) {
    if (!s.empty() && IsAsciiSpace(s.back())) {
      s.remove_suffix(1);
      continue;
    }
    bool trimmed = false;
    for (std::string_view sp : kMultiByteSpaces)
      if (s.ends_with(sp)) s.remove_suffix(sp.size()), trimmed = true;
    for (std::string_view sp : kMoreMultiByteSpaces)
      if (s.ends_with(sp)) s.remove_suffix(sp.size()), trimmed = true;
    if (!trimmed) return s;
  }
}

std::string_view Trim(std::string_view s) { return TrimRight(TrimLeft(s)); }

std::string_view TrimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool IsComment(std::string_view raw_line) {
  std::string_view t = TrimLeft(TrimNewline(raw_line));
  return !t.empty() && t.front() == '#';
}

// Docker's reWhitespace: [\t\v\f\r ]+ (no newline: lines are already split).
bool IsWordSeparator(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

std::vector<std::string> SplitOnWhitespace(std::string_view s, size_t max_parts = 0) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (true) {
    size_t start = i;
    if (max_parts && parts.size() + 1 == max_parts) {
      parts.emplace_back(s.substr(start));
      return parts;
    }
    while (i < s.size() && !IsWordSeparator(s[i])) ++i;
    parts.emplace_back(s.substr(start, i - start));
    if (i >= s.size()) return parts;
    while (i < s.size() && IsWordSeparator(s[i])) ++i;
  }
}

// Reads the leading `--flag` words of an instruction's arguments, as
// BuildKit's extractBuilderFlags does: quotes group, a backslash escapes the
// next character, and a bare `--` ends the flags. Returns the rest.
// Unlike Go (which tests bytes with unicode.IsSpace), only ASCII white space
// separates flags, so multi-byte UTF-8 in a flag value is never split.
std::string_view ExtractFlags(std::string_view line, std::vector<std::string>& flags) {
  enum { kInSpaces, kInWord, kInQuote } phase = kInSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= line.size(); ++pos) {
    char ch = pos < line.size() ? line[pos] : '\0';
    if (phase == kInSpaces) {
      if (pos == line.size()) break;
      if (IsAsciiSpace(ch)) continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return line.substr(pos);
      phase = kInWord;
    }
    if (pos == line.size()) {
      if (word != "--" && (blank_ok || !word.empty())) flags.push_back(word);
      break;
    }
    if (phase == kInWord) {
      if (IsAsciiSpace(ch)) {
        phase = kInSpaces;
        if (word == "--") return line.substr(pos);
        if (blank_ok || !word.empty()) flags.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kInQuote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == line.size()) continue;
        ch = line[++pos];
      }
      word.push_back(ch);
      continue;
    }
    // kInQuote
    if (ch == quote) {
      phase = kInWord;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == line.size()) {
        phase = kInWord;
        continue;
      }
      ch = line[++pos];
    }
    word.push_back(ch);
  }
  return {};
}

class DirectiveReader {
 public:
  DirectiveReader(Directives& d, const std::string& file) : d_(d), file_(file) {}

  // Called for each line until the first line that is not a directive.
  void Consider(std::string_view line, int line_no) {
    if (done_) return;
    std::optional<std::pair<std::string, std::string>> kv = Match(line);
    if (!kv) {
      done_ = true;
      return;
    }
    const std::string& key = kv->first;
    if (key != "syntax" && key != "escape" && key != "check") {
      // Unknown directives are comments, and end the directive block.
      done_ = true;
      return;
    }
    if (d_.values.count(key))
      throw ParseError({file_, line_no, line_no, 0}, "only one " + key + " parser directive can be used");
    if (key == "escape") {
      if (kv->second != "\\" && kv->second != "`")
        throw ParseError({file_, line_no, line_no, 0},
                         "invalid escape token '" + kv->second + "' does not match ` or \\");
      d_.escape = kv->second[0];
    }
    d_.values[key] = kv->second;
  }

 private:
  // ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$
  static std::optional<std::pair<std::string, std::string>> Match(std::string_view line) {
    size_t i = 0;
    auto skip_space = [&] {
      while (i < line.size() && IsAsciiSpace(line[i])) ++i;
    };
    if (i >= line.size() || line[i] != '#') return std::nullopt;
    ++i;
    skip_space();
    size_t key_start = i;
    if (i >= line.size() || !std::isalpha(static_cast<unsigned char>(line[i]))) return std::nullopt;
    while (i < line.size() && std::isalnum(static_cast<unsigned char>(line[i]))) ++i;
    std::string key = Lower(line.substr(key_start, i - key_start));
    skip_space();
    if (i >= line.size() || line[i] != '=') return std::nullopt;
    ++i;
    skip_space();
    std::string_view value = line.substr(i);
    while (!value.empty() && IsAsciiSpace(value.back())) value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    return std::make_pair(key, std::string(value));
  }

  Directives& d_;
  const std::string& file_;
  bool done_ = false;
};

// ^(\d*)<<(-?)([^<]*)$ on one word of the instruction line.
std::optional<Heredoc> ParseHeredocWord(std::string_view word) {
  size_t i = 0;
  while (i < word.size() && std::isdigit(static_cast<unsigned char>(word[i]))) ++i;
  std::string_view digits = word.substr(0, i);
  if (word.substr(i, 2) != "<<") return std::nullopt;
  i += 2;
  bool chomp = false;
  if (i < word.size() && word[i] == '-') chomp = true, ++i;
  std::string_view rest = word.substr(i);
  if (rest.empty() || rest.find('<') != std::string_view::npos) return std::nullopt;

  // The delimiter read with and without quote removal: if quotes were
  // removed, part of it was quoted, and the body is not expanded.
  LexOptions plain;
  plain.skip_unset_env = true;
  LexOptions raw = plain;
  raw.raw_quotes = true;
  VarMap no_env;
  std::vector<std::string> words, raw_words;
  try {
    words = ShellLexer(plain).ProcessWords(rest, no_env);
    raw_words = ShellLexer(raw).ProcessWords(rest, no_env);
  } catch (const ExpandError&) {
    return std::nullopt;
  }
  if (words.size() != 1 || raw_words.size() != 1) return std::nullopt;
  auto quotes = [](const std::string& s) {
    size_t n = 0;
    for (char c : s) n += (c == '\'' || c == '"');
    return n;
  };
  Heredoc h;
  h.name = words[0];
  h.expand = quotes(words[0]) == quotes(raw_words[0]);
  h.chomp = chomp;
  // A descriptor number too long to be one is not a heredoc redirection.
  constexpr size_t kMaxFdDigits = 9;
  if (digits.size() > kMaxFdDigits) return std::nullopt;
  h.fd = digits.empty() ? 0 : std::stoi(std::string(digits));
  return h;
}

std::vector<Heredoc> HeredocsInLine(std::string_view line) {
  LexOptions opts;
  opts.raw_quotes = true;
  opts.raw_escapes = true;
  std::vector<std::string> words;
  try {
    words = ShellLexer(opts).ProcessWords(line, VarMap{});
  } catch (const ExpandError&) {
    return {};  // a line the shell cannot split holds no heredoc markers
  }
  std::vector<Heredoc> docs;
  for (const std::string& w : words)
    if (auto h = ParseHeredocWord(w)) docs.push_back(std::move(*h));
  return docs;
}

std::string StripLeadingTabs(std::string_view s) {
  while (!s.empty() && s.front() == '\t') s.remove_prefix(1);
  return std::string(s);
}

class NodeBuilder {
 public:
  NodeBuilder(const Directives& d, const std::string& file) : d_(d), file_(file) {}

  Node FromLine(std::string_view line, int line_no, bool nested = false) {
    Node node;
    node.original = std::string(line);
    node.line = node.end_line = line_no;
    std::vector<std::string> cmd = SplitOnWhitespace(Trim(line), 2);
    node.keyword = cmd[0];
    std::string_view rest;
    if (cmd.size() == 2) rest = Trim(ExtractFlags(cmd[1], node.flags));
    // Copy: rest may point into cmd[1], which outlives this function's use.
    std::string rest_text(rest);
    std::string kw = Lower(node.keyword);
    if (kw == "add" || kw == "copy" || kw == "volume") {
      MaybeJsonToList(node, rest_text);
    } else if (kw == "run" || kw == "cmd" || kw == "entrypoint" || kw == "shell") {
      MaybeJson(node, rest_text);
    } else if (kw == "from" || kw == "expose") {
      if (!rest_text.empty()) node.args = SplitOnWhitespace(rest_text);
    } else if (kw == "env" || kw == "label") {
      NameValues(node, rest_text, kw == "env" ? "ENV" : "LABEL");
    } else if (kw == "arg") {
      node.args = SplitWords(rest_text, d_.escape);
    } else if (kw == "maintainer" || kw == "user" || kw == "workdir" || kw == "stopsignal") {
      if (!rest_text.empty()) node.args.push_back(rest_text);
    } else if (kw == "onbuild") {
      if (!rest_text.empty()) {
        if (nested) {
          // ONBUILD ONBUILD is refused by the instruction layer; one level of
          // nesting is all that needs parsing.
          node.args.push_back(rest_text);
        } else {
          node.child = std::make_unique<Node>(FromLine(rest_text, line_no, true));
        }
      }
    } else if (kw == "healthcheck") {
      HealthConfig(node, rest_text);
    } else {
      node.known = false;
    }
    return node;
  }

 private:
  // Takes `rest` as the JSON (exec) form when it is a JSON array of
  // strings, and refuses a JSON array of anything else; false when `rest`
  // is not a JSON array.
  bool TakeJsonForm(Node& node, const std::string& rest) {
    JsonArrayResult j = ParseJsonStringArray(rest);
    if (j.status == JsonArrayStatus::kNotStringArray) NotStringArray(node);
    if (j.status != JsonArrayStatus::kStringArray) return false;
    node.json_form = true;
    node.args = std::move(j.strings);
    return true;
  }

  void MaybeJson(Node& node, const std::string& rest) {
    if (rest.empty() || TakeJsonForm(node, rest)) return;
    node.args.push_back(rest);
  }

  void MaybeJsonToList(Node& node, const std::string& rest) {
    if (TakeJsonForm(node, rest)) return;
    if (!rest.empty()) node.args = SplitOnWhitespace(rest);
  }

  [[noreturn]] void NotStringArray(const Node& node) {
    throw ParseError({file_, node.line, node.end_line, 0},
                     "when using JSON array syntax, arrays must be comprised of strings only");
  }

  // ENV and LABEL: `KEY value` (legacy) or `KEY=value ...`.
  void NameValues(Node& node, const std::string& rest, const std::string& what) {
    std::vector<std::string> words = SplitWords(rest, d_.escape);
    if (words.empty()) return;
    if (words[0].find('=') == std::string::npos) {
      std::vector<std::string> parts = SplitOnWhitespace(rest, 2);
      if (parts.size() < 2)
        throw ParseError({file_, node.line, node.end_line, 0},
                         what + " must have two arguments (use " + what + " " + parts[0] + "=<value>)");
      node.args = {parts[0], parts[1]};
      return;
    }
    for (const std::string& w : words) {
      size_t eq = w.find('=');
      if (eq == std::string::npos)
        throw ParseError({file_, node.line, node.end_line, 0},
                         "Syntax error - can't find = in \"" + w + "\". Must be of the form: name=value");
      node.args.push_back(w.substr(0, eq));
      node.args.push_back(w.substr(eq + 1));
    }
  }

  void HealthConfig(Node& node, const std::string& rest) {
    size_t sep = 0;
    while (sep < rest.size() && !IsAsciiSpace(rest[sep])) ++sep;
    if (sep == 0) return;
    size_t next = sep;
    while (next < rest.size() && IsAsciiSpace(rest[next])) ++next;
    node.args.push_back(rest.substr(0, sep));
    Node cmd;
    cmd.line = node.line;
    MaybeJson(cmd, rest.substr(next));
    node.json_form = cmd.json_form;
    for (std::string& a : cmd.args) node.args.push_back(std::move(a));
  }

  const Directives& d_;
  const std::string& file_;
};

}  // namespace

bool IsSpaceAt(std::string_view s, size_t i, size_t* len) {
  if (IsAsciiSpace(s[i])) {
    *len = 1;
    return true;
  }
  if (static_cast<unsigned char>(s[i]) < 0x80) return false;
  std::string_view tail = s.substr(i);
  for (std::string_view sp : kMultiByteSpaces)
    if (tail.starts_with(sp)) return *len = sp.size(), true;
  for (std::string_view sp : kMoreMultiByteSpaces)
    if (tail.starts_with(sp)) return *len = sp.size(), true;
  return false;
}

std::vector<std::string> SplitWords(std::string_view rest, char escape) {
  enum { kInSpaces, kInWord, kInQuote } phase = kInSpaces;
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  size_t pos = 0;
  while (true) {
    if (phase == kInSpaces) {
      if (pos >= rest.size()) break;
      size_t len;
      if (IsSpaceAt(rest, pos, &len)) {
        pos += len;
        continue;
      }
      phase = kInWord;
    }
    if (pos >= rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    char ch = rest[pos];
    if (phase == kInWord) {
      size_t len;
      if (IsSpaceAt(rest, pos, &len)) {
        phase = kInSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        pos += len;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kInQuote;
      }
      if (ch == escape) {
        if (pos + 1 == rest.size()) {
          ++pos;  // an escape at the very end is dropped
          continue;
        }
        // Unquoted, the escape and the character after it are both kept,
        // even when that character is a quote.
        word.push_back(ch);
        ch = rest[++pos];
      }
      word.push_back(ch);
      ++pos;
      continue;
    }
    // kInQuote
    if (ch == quote) phase = kInWord;
    if (ch == escape && quote != '\'') {
      if (pos + 1 == rest.size()) {
        phase = kInWord;
        ++pos;
        continue;
      }
      word.push_back(ch);
      ch = rest[++pos];
    }
    word.push_back(ch);
    ++pos;
  }
  return words;
}

namespace {

// The physical lines in, instructions (continuation lines joined) and heredoc
// bodies out, numbered; comments dropped and parser directives read on the
// way, so that the escape a directive sets applies from the next line on.
class LineReader {
 public:
  LineReader(std::string_view text, SyntaxTree& tree, const std::string& file)
      : tree_(tree), file_(file), directives_(tree.directives, file) {
    if (text.starts_with(kBom)) text.remove_prefix(kBom.size());
    while (!text.empty()) {
      size_t nl = text.find('\n');
      if (nl == std::string_view::npos) {
        lines_.push_back(text);
        break;
      }
      lines_.push_back(text.substr(0, nl));
      text.remove_prefix(nl + 1);
    }
  }

  // The number of the last line read.
  int line_no() const { return line_no_; }

  // The next instruction's text, its continuation lines joined, and the line
  // it starts on; nullopt after the last.
  std::optional<std::pair<std::string, int>> ReadInstruction() {
    while (auto raw = ReadLine()) {
      std::string_view first = Process(*raw, true);
      int start_line = line_no_;
      std::string line;
      bool continued = Continuation(first, line);
      if (!continued && line.empty()) continue;
      bool empty_continuation = false;
      while (continued) {
        auto more = ReadLine();
        if (!more) break;
        std::string_view token = Process(*more, false);
        if (IsComment(*more)) continue;
        if (TrimLeft(TrimNewline(token)).empty()) {
          empty_continuation = true;
          continue;
        }
        continued = Continuation(token, line);
      }
      if (empty_continuation)
        tree_.warnings.push_back({start_line, "empty continuation line found in: " + line +
                                                  " (empty continuation lines will become errors in a future release)"});
      return std::pair{std::move(line), start_line};
    }
    return std::nullopt;
  }

  // Fills each heredoc `line` opens (the instruction started on
  // `start_line`) with the lines up to its terminator, in order.
  void ReadHeredocs(std::string_view line, int start_line, Node& node) {
    for (Heredoc& doc : HeredocsInLine(line)) {
      bool terminated = false;
      while (auto body = ReadLine()) {
        std::string_view candidate = TrimNewline(*body);
        std::string stripped = doc.chomp ? StripLeadingTabs(candidate) : std::string(candidate);
        if (stripped == doc.name) {
          terminated = true;
          break;
        }
        doc.content += (doc.chomp ? stripped : std::string(candidate)) + "\n";
      }
      if (!terminated)
        throw ParseError({file_, start_line, line_no_, 0},
                         "unterminated heredoc: no line \"" + doc.name + "\" ends the heredoc started on line " +
                             std::to_string(start_line));
      node.heredocs.push_back(std::move(doc));
    }
  }

 private:
  std::optional<std::string_view> ReadLine() {
    if (next_ >= lines_.size()) return std::nullopt;
    ++line_no_;
    return lines_[next_++];
  }

  // The line with comments removed; feeds the directive reader.
  std::string_view Process(std::string_view raw, bool strip_left) {
    std::string_view token = TrimNewline(raw);
    if (strip_left) token = TrimLeft(token);
    directives_.Consider(token, line_no_);
    return IsComment(token) ? std::string_view() : token;
  }

  // Appends `line` to `out` without a trailing escape; true when it had one.
  // BuildKit's rule: the escape is the last visible character, and either it
  // stands alone at the start of the line or the character before it is not
  // an escape too (`ENV C a\\` ends the instruction with a backslash in C's
  // value).
  bool Continuation(std::string_view line, std::string& out) const {
    std::string_view t = line;
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    char escape = tree_.directives.escape;
    if (!t.empty() && t.back() == escape && (t.size() == 1 || t[t.size() - 2] != escape)) {
      t.remove_suffix(1);
      out.append(t);
      return true;
    }
    out.append(line);
    return false;
  }

  SyntaxTree& tree_;
  const std::string& file_;
  DirectiveReader directives_;
  std::vector<std::string_view> lines_;
  size_t next_ = 0;  // index of the next unread line
  int line_no_ = 0;
};

}  // namespace

SyntaxTree ParseSyntaxTree(std::string_view text, const std::string& file) {
  SyntaxTree tree;
  tree.source = std::make_shared<const std::string>(text);
  LineReader reader(*tree.source, tree, file);
  while (auto instruction = reader.ReadInstruction()) {
    const auto& [line, start_line] = *instruction;
    NodeBuilder builder(tree.directives, file);
    Node node = builder.FromLine(line, start_line);
    node.end_line = reader.line_no();
    if (!node.json_form && CanHoldHeredoc(Lower(node.keyword)) && line.find("<<") != std::string::npos) {
      reader.ReadHeredocs(line, start_line, node);
      node.end_line = reader.line_no();
    }
    tree.nodes.push_back(std::move(node));
  }
  return tree;
}

}  // namespace bld::parser
