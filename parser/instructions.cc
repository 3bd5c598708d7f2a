#include "parser/instructions.h"

#include <cctype>
#include <limits>
#include <stdexcept>

#include "parser/suggest.h"

namespace bld::parser {

namespace {

struct KeywordInfo {
  std::string_view lower;
  std::string_view upper;
  Keyword keyword;
};

constexpr KeywordInfo kKeywords[] = {
    {"from", "FROM", Keyword::kFrom},
    {"run", "RUN", Keyword::kRun},
    {"cmd", "CMD", Keyword::kCmd},
    {"label", "LABEL", Keyword::kLabel},
    {"maintainer", "MAINTAINER", Keyword::kMaintainer},
    {"expose", "EXPOSE", Keyword::kExpose},
    {"env", "ENV", Keyword::kEnv},
    {"add", "ADD", Keyword::kAdd},
    {"copy", "COPY", Keyword::kCopy},
    {"entrypoint", "ENTRYPOINT", Keyword::kEntrypoint},
    {"volume", "VOLUME", Keyword::kVolume},
    {"user", "USER", Keyword::kUser},
    {"workdir", "WORKDIR", Keyword::kWorkdir},
    {"arg", "ARG", Keyword::kArg},
    {"onbuild", "ONBUILD", Keyword::kOnbuild},
    {"stopsignal", "STOPSIGNAL", Keyword::kStopsignal},
    {"healthcheck", "HEALTHCHECK", Keyword::kHealthcheck},
    {"shell", "SHELL", Keyword::kShell},
};

// RUN --network and --security, as BuildKit takes them.
const std::vector<std::string_view> kNetworkModes = {"default", "none", "host"};
const std::vector<std::string_view> kSecurityModes = {"sandbox", "insecure"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

class Checker {
 public:
  Checker(const Node& node, const std::string& file) : node_(node), file_(file) {}

  [[noreturn]] void Fail(const std::string& message) const {
    throw ParseError({file_, node_.line, node_.end_line, 0}, message);
  }

  void ParseFlags(Instruction& ins) const {
    const std::vector<FlagSpec>& specs = AcceptedFlags(ins.keyword);
    for (const std::string& raw : ins.flags) {
      std::string arg = raw.substr(2);
      std::string value;
      size_t eq = arg.find('=');
      bool has_value = eq != std::string::npos;
      if (has_value) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
      const FlagSpec* spec = nullptr;
      for (const FlagSpec& s : specs)
        if (s.name == arg) spec = &s;
      if (!spec) {
        std::vector<std::string> names;
        for (const FlagSpec& s : specs) names.emplace_back("--" + std::string(s.name));
        std::string msg = "unknown flag: --" + arg;
        if (auto s = Suggest("--" + arg, names)) msg += " (did you mean " + *s + "?)";
        if (specs.empty()) msg += " (" + std::string(KeywordName(ins.keyword)) + " takes no flags)";
        Fail(msg);
      }
      if (ins.flag_values.count(arg) && spec->type != FlagType::kStrings)
        Fail("duplicate flag specified: --" + arg);
      switch (spec->type) {
        case FlagType::kBool: {
          if (has_value && value.empty()) Fail("missing a value on flag: --" + arg);
          std::string lower = Lower(value);
          if (lower.empty()) lower = "true";
          if (lower != "true" && lower != "false")
            Fail("expecting boolean value for flag --" + arg + ", not: " + value);
          ins.flag_values[arg] = {lower};
          break;
        }
        case FlagType::kString:
          if (!has_value) Fail("missing a value on flag: --" + arg);
          ins.flag_values[arg] = {value};
          break;
        case FlagType::kStrings:
          if (!has_value) Fail("missing a value on flag: --" + arg);
          ins.flag_values[arg].push_back(value);
          break;
      }
    }
  }

  void AtLeastOne(const Instruction& ins) const {
    if (ins.args.empty()) Fail(std::string(KeywordName(ins.keyword)) + " requires at least one argument");
  }
  void ExactlyOne(const Instruction& ins) const {
    if (ins.args.size() != 1) Fail(std::string(KeywordName(ins.keyword)) + " requires exactly one argument");
  }

 private:
  const Node& node_;
  const std::string& file_;
};

// The permission, setuid, setgid and sticky bits: more means nothing for a
// file, and BuildKit refuses it.
constexpr uint64_t kMaxChmod = 07777;

bool IsOctalMode(std::string_view s) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return false;
    v = v * 8 + static_cast<uint64_t>(c - '0');
    if (v > kMaxChmod) return false;
  }
  return true;
}

bool IsUrl(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

// HEALTHCHECK durations are refused below Docker's minimum of 1 ms.
constexpr int64_t kMinHealthcheckDuration = 1'000'000;

void CheckHealthcheck(const Checker& c, Instruction& ins) {
  c.AtLeastOne(ins);
  std::string type = Upper(ins.args[0]);
  ins.args[0] = type;
  if (type == "NONE") {
    if (ins.args.size() != 1) c.Fail("HEALTHCHECK NONE takes no arguments");
    return;
  }
  if (type != "CMD") c.Fail("Unknown type \"" + type + "\" in HEALTHCHECK (try CMD)");
  if (ins.args.size() < 2) c.Fail("Missing command after HEALTHCHECK CMD");
  for (std::string_view name : {"interval", "timeout", "start-period", "start-interval"}) {
    if (!ins.HasFlag(name)) continue;
    std::string v = ins.Flag(name);
    std::optional<int64_t> d = ParseDuration(v);
    if (!d)
      c.Fail("HEALTHCHECK --" + std::string(name) + ": invalid duration \"" + v +
             "\" (write a number with a unit, e.g. 30s, 1m30s or 500ms)");
    if (*d < 0) c.Fail("Interval \"" + std::string(name) + "\" cannot be negative");
    if (*d != 0 && *d < kMinHealthcheckDuration)
      c.Fail("Interval \"" + std::string(name) + "\" cannot be less than 1ms");
  }
  if (ins.HasFlag("retries")) {
    std::string v = ins.Flag("retries");
    size_t used = 0;
    long long n = 0;
    try {
      n = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (v.empty() || used != v.size()) c.Fail("HEALTHCHECK --retries: \"" + v + "\" is not a whole number");
    if (n < 0) c.Fail("--retries cannot be negative (" + v + ")");
  }
}

void CheckCopyOrAdd(const Checker& c, Instruction& ins) {
  const std::string what(KeywordName(ins.keyword));
  if (ins.args.size() < 2 && !(ins.args.size() == 1 && !ins.heredocs.empty())) {
    if (ins.args.empty()) c.Fail(what + " requires at least two arguments: the source(s) and the destination");
    c.Fail(what + " requires at least two arguments, but only one was provided. Destination could not be determined.");
  }
  const std::string& dest = ins.args.back();
  if (!ins.heredocs.empty() && dest.starts_with("<<"))
    c.Fail(what + " " + dest + ": a heredoc is a source and cannot be the destination; write the destination after it (" +
           what + " " + dest + " /path/file)");
  if (ins.keyword == Keyword::kCopy && !ins.json_form)
    for (size_t i = 0; i + 1 < ins.args.size(); ++i)
      if (IsUrl(ins.args[i]))
        c.Fail("COPY " + ins.args[i] + ": COPY cannot download a URL; use ADD " + ins.args[i] + " instead");
  if (ins.HasFlag("chmod")) {
    std::string mode = ins.Flag("chmod");
    if (mode.find('$') == std::string::npos && !IsOctalMode(mode))
      c.Fail("invalid --chmod=" + mode + ": the mode must be an octal number from 0 to 07777, such as 0755 or 644");
  }
  if (ins.HasFlag("from")) {
    std::string from = ins.Flag("from");
    if (from.find('$') != std::string::npos)
      c.Fail("COPY --from=" + from +
             ": variables are not expanded in --from; name the stage or image directly (e.g. --from=build)");
    if (from.empty()) c.Fail("COPY --from needs a stage name, stage index or image");
  }
}

void CheckRun(const Checker& c, Instruction& ins) {
  if (ins.args.empty() && !ins.json_form) c.Fail("RUN requires at least one argument");
  for (const std::string& m : ins.FlagValues("mount")) {
    try {
      ParseRunMount(m);
    } catch (const std::invalid_argument& e) {
      c.Fail("RUN --mount=" + m + ": " + e.what());
    }
  }
  for (const FlagSpec& spec : AcceptedFlags(Keyword::kRun)) {
    if (spec.values.empty() || !ins.HasFlag(spec.name)) continue;
    std::string value = ins.Flag(spec.name);
    bool known = false;
    for (std::string_view v : spec.values) known = known || v == value;
    if (!known) {
      std::string list;
      for (size_t i = 0; i < spec.values.size(); ++i)
        list += (i == 0 ? "" : i + 1 == spec.values.size() ? " or " : ", ") + std::string(spec.values[i]);
      c.Fail("RUN --" + std::string(spec.name) + "=" + value + ": unsupported " + std::string(spec.name) +
             " mode (use " + list + ")");
    }
  }
}

void CheckNameValues(const Checker& c, const Instruction& ins) {
  c.AtLeastOne(ins);
  for (size_t i = 0; i < ins.args.size(); i += 2)
    if (ins.args[i].empty()) c.Fail(std::string(KeywordName(ins.keyword)) + " names can not be blank");
}

void Check(const Checker& c, Instruction& ins) {
  switch (ins.keyword) {
    case Keyword::kFrom: {
      const auto& a = ins.args;
      bool named = a.size() == 3 && Lower(a[1]) == "as";
      if (!(a.size() == 1 || named)) c.Fail("FROM requires either one or three arguments (FROM <image> [AS <name>])");
      if (named) {
        std::string name = Lower(a[2]);
        bool ok = std::isalpha(static_cast<unsigned char>(name[0])) != 0;
        for (char ch : name)
          ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.');
        if (!ok)
          c.Fail("invalid name for build stage: \"" + a[2] +
                 "\", name can't start with a number or contain symbols");
      }
      break;
    }
    case Keyword::kRun: CheckRun(c, ins); break;
    case Keyword::kCmd:
    case Keyword::kEntrypoint: break;  // an empty command is allowed (it clears)
    case Keyword::kLabel:
    case Keyword::kEnv: CheckNameValues(c, ins); break;
    case Keyword::kMaintainer:
    case Keyword::kUser:
    case Keyword::kWorkdir:
    case Keyword::kStopsignal: c.ExactlyOne(ins); break;
    case Keyword::kExpose: c.AtLeastOne(ins); break;
    case Keyword::kAdd:
    case Keyword::kCopy: CheckCopyOrAdd(c, ins); break;
    case Keyword::kVolume:
      c.AtLeastOne(ins);
      for (const std::string& v : ins.args) {
        bool blank = true;
        for (char ch : v) blank = blank && std::isspace(static_cast<unsigned char>(ch));
        if (blank) c.Fail("VOLUME specified can not be an empty string");
      }
      break;
    case Keyword::kArg:
      c.AtLeastOne(ins);
      for (const std::string& a : ins.args)
        if (a.empty() || a[0] == '=') c.Fail("ARG names can not be blank");
      break;
    case Keyword::kOnbuild: c.AtLeastOne(ins); break;
    case Keyword::kHealthcheck: CheckHealthcheck(c, ins); break;
    case Keyword::kShell:
      if (ins.args.empty()) c.Fail("SHELL requires at least one argument");
      if (!ins.json_form) c.Fail("SHELL requires the arguments to be in JSON form, e.g. SHELL [\"/bin/bash\", \"-c\"]");
      break;
  }
}

Instruction Convert(Node&& node, const std::string& file) {
  Checker c(node, file);
  std::string lower = Lower(node.keyword);
  const KeywordInfo* info = nullptr;
  for (const KeywordInfo& k : kKeywords)
    if (k.lower == lower) info = &k;
  if (!info || !node.known) {
    std::string msg = "unknown instruction: " + node.keyword;
    if (auto s = Suggest(node.keyword, AllKeywords())) msg += " (did you mean " + *s + "?)";
    c.Fail(msg);
  }
  Instruction ins;
  ins.keyword = info->keyword;
  ins.original = std::move(node.original);
  ins.line = node.line;
  ins.end_line = node.end_line;
  ins.flags = std::move(node.flags);
  ins.args = std::move(node.args);
  ins.json_form = node.json_form;
  ins.heredocs = std::move(node.heredocs);
  c.ParseFlags(ins);
  if (ins.keyword == Keyword::kOnbuild) {
    if (!node.child) c.Fail("ONBUILD requires at least one argument");
    std::string child = Lower(node.child->keyword);
    if (child == "onbuild") c.Fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (child == "from" || child == "maintainer")
      c.Fail(Upper(child) + " isn't allowed as an ONBUILD trigger");
    ins.onbuild = std::make_shared<const Instruction>(Convert(std::move(*node.child), file));
    ins.args.clear();
    return ins;
  }
  Check(c, ins);
  return ins;
}

}  // namespace

std::string_view KeywordName(Keyword k) {
  for (const KeywordInfo& info : kKeywords)
    if (info.keyword == k) return info.upper;
  return "?";
}

const std::vector<std::string>& AllKeywords() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v;
    for (const KeywordInfo& k : kKeywords) v.emplace_back(k.upper);
    return v;
  }();
  return all;
}

const std::vector<FlagSpec>& AcceptedFlags(Keyword k) {
  using enum FlagType;
  static const std::vector<FlagSpec> kNone;
  static const std::vector<FlagSpec> kFromFlags = {{"platform", kString, {}}};
  static const std::vector<FlagSpec> kRunFlags = {
      {"mount", kStrings, {}}, {"network", kString, kNetworkModes}, {"security", kString, kSecurityModes},
      {"device", kStrings, {}}};
  static const std::vector<FlagSpec> kCopyFlags = {{"chown", kString, {}},   {"chmod", kString, {}},
                                                   {"from", kString, {}},    {"link", kBool, {}},
                                                   {"parents", kBool, {}},   {"exclude", kStrings, {}}};
  static const std::vector<FlagSpec> kAddFlags = {{"chown", kString, {}},      {"chmod", kString, {}},
                                                  {"link", kBool, {}},         {"keep-git-dir", kBool, {}},
                                                  {"checksum", kString, {}},   {"exclude", kStrings, {}}};
  static const std::vector<FlagSpec> kHealthcheckFlags = {{"interval", kString, {}},
                                                          {"timeout", kString, {}},
                                                          {"start-period", kString, {}},
                                                          {"start-interval", kString, {}},
                                                          {"retries", kString, {}}};
  switch (k) {
    case Keyword::kFrom: return kFromFlags;
    case Keyword::kRun: return kRunFlags;
    case Keyword::kCopy: return kCopyFlags;
    case Keyword::kAdd: return kAddFlags;
    case Keyword::kHealthcheck: return kHealthcheckFlags;
    default: return kNone;
  }
}

const std::vector<Keyword>& AllKeywordValues() {
  static const std::vector<Keyword> all = [] {
    std::vector<Keyword> v;
    for (const KeywordInfo& k : kKeywords) v.push_back(k.keyword);
    return v;
  }();
  return all;
}

std::string Instruction::Flag(std::string_view name) const {
  auto it = flag_values.find(std::string(name));
  return it == flag_values.end() || it->second.empty() ? std::string() : it->second.back();
}

const std::vector<std::string>& Instruction::FlagValues(std::string_view name) const {
  static const std::vector<std::string> kNone;
  auto it = flag_values.find(std::string(name));
  return it == flag_values.end() ? kNone : it->second;
}

std::optional<int64_t> ParseDuration(std::string_view s) {
  // [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+, or "0"
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  struct Unit {
    std::string_view name;
    int64_t ns;
  };
  static constexpr Unit kUnits[] = {{"ns", 1},
                                    {"us", 1000},
                                    {"\xC2\xB5s", 1000},
                                    {"\xCE\xBCs", 1000},
                                    {"ms", 1000000},
                                    {"s", 1000000000LL},
                                    {"m", 60 * 1000000000LL},
                                    {"h", 3600 * 1000000000LL}};
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double value = 0;
    bool digits = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      value = value * 10 + (s[i++] - '0');
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        value += (s[i++] - '0') * scale;
        scale /= 10;
        digits = true;
      }
    }
    if (!digits) return std::nullopt;
    size_t unit_start = i;
    while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.') ++i;
    std::string_view unit = s.substr(unit_start, i - unit_start);
    const Unit* u = nullptr;
    for (const Unit& k : kUnits)
      if (k.name == unit) u = &k;
    if (!u) return std::nullopt;
    total += value * static_cast<long double>(u->ns);
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    s.remove_prefix(i);
  }
  int64_t ns = static_cast<int64_t>(total);
  return negative ? -ns : ns;
}

Instruction ParseInstruction(Node node, const std::string& file) { return Convert(std::move(node), file); }

}  // namespace bld::parser
