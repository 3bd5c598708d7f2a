#include "parser/dockerfile.h"

#include <algorithm>
#include <cctype>
#include <functional>

#include "parser/expansion.h"
#include "parser/suggest.h"

namespace bld::parser {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Platform {
  std::string os, arch, variant;
  std::string String() const { return os + "/" + arch + (variant.empty() ? "" : "/" + variant); }
};

// Normalizes a platform the way Docker's platforms package does: lower case,
// "linux" when only an architecture is given, architecture aliases, and the
// default variants (arm -> v7; arm64/v8 -> no variant).
std::optional<Platform> NormalizePlatform(std::string_view text) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : Lower(text)) {
    if (c == '/') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  parts.push_back(cur);
  for (const std::string& p : parts)
    if (p.empty()) return std::nullopt;
  Platform pl;
  static const std::vector<std::string> kOses = {"linux", "windows", "darwin", "freebsd"};
  if (parts.size() == 1) {
    if (std::find(kOses.begin(), kOses.end(), parts[0]) != kOses.end()) {
      Platform host = *NormalizePlatform(BuildPlatform());
      pl = {parts[0], host.arch, host.variant};
      return pl;
    }
    pl.os = "linux";
    pl.arch = parts[0];
  } else if (parts.size() <= 3) {
    pl.os = parts[0];
    pl.arch = parts[1];
    if (parts.size() == 3) pl.variant = parts[2];
  } else {
    return std::nullopt;
  }
  if (pl.arch == "x86_64" || pl.arch == "x86-64") pl.arch = "amd64";
  if (pl.arch == "aarch64") pl.arch = "arm64";
  if (pl.arch == "i386" || pl.arch == "i686") pl.arch = "386";
  if (pl.arch == "armhf" || pl.arch == "armel") {
    pl.variant = pl.arch == "armhf" ? "v7" : "v6";
    pl.arch = "arm";
  }
  if (pl.arch == "arm64" && pl.variant == "v8") pl.variant.clear();
  if (pl.arch == "arm" && pl.variant.empty()) pl.variant = "v7";
  return pl;
}

class StageReader {
 public:
  StageReader(const std::string& file, const ParseOptions& options) : file_(file), options_(options) {}

  [[noreturn]] void Fail(int line, int end_line, const std::string& message) const {
    throw ParseError({file_, line, end_line, 0}, message);
  }

  Dockerfile Read(std::string_view text) {
    SyntaxTree tree = ParseSyntaxTree(text, file_);
    Dockerfile df;
    df.directives = tree.directives;
    df.warnings = tree.warnings;
    df.source = tree.source;
    lexer_ = ShellLexer(LexOptions{.escape = tree.directives.escape});
    if (tree.nodes.empty())
      Fail(0, 0, "the Dockerfile has no instructions: it needs at least one FROM line (e.g. FROM busybox)");

    std::vector<Instruction> meta;
    for (Node& node : tree.nodes) {
      Instruction ins = ParseInstruction(std::move(node), file_);
      if (ins.keyword == Keyword::kMaintainer)
        df.warnings.push_back({ins.line, "MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors=..."});
      if (ins.keyword == Keyword::kFrom) {
        Stage s;
        s.index = static_cast<int>(df.stages.size());
        s.line = ins.line;
        if (ins.args.size() == 3) s.name = Lower(ins.args[2]);
        s.from = std::move(ins);
        df.stages.push_back(std::move(s));
      } else if (df.stages.empty()) {
        if (ins.keyword != Keyword::kArg)
          Fail(ins.line, ins.end_line,
               "no build stage in current context: " + std::string(KeywordName(ins.keyword)) +
                   " comes before the first FROM (only ARG may come before FROM)");
        meta.push_back(std::move(ins));
      } else {
        df.stages.back().instructions.push_back(std::move(ins));
      }
    }
    if (df.stages.empty())
      Fail(meta.back().line, meta.back().end_line,
           "the Dockerfile has no stage to build: add a FROM line after the ARGs");

    CheckStageNames(df);
    df.target = FindTarget(df);
    std::string target_name = df.stages[df.target].name.empty() ? std::to_string(df.target)
                                                                : df.stages[df.target].name;
    try {
      df.global_args = AutomaticArgs(options_.platform, target_name);
    } catch (const ParseError& e) {
      Fail(0, 0, e.what());
    }
    for (const Instruction& arg : meta) ReadMetaArg(arg, df);
    for (Stage& s : df.stages) ResolveBase(s, df);
    for (Stage& s : df.stages) FindDependencies(s, df);
    MarkNeeded(df, df.target);
    return df;
  }

 private:
  void ReadMetaArg(const Instruction& ins, Dockerfile& df) {
    for (const std::string& word : ins.args) {
      MetaArg m;
      m.line = ins.line;
      size_t eq = word.find('=');
      m.name = word.substr(0, eq);
      if (eq != std::string::npos) m.default_value = word.substr(eq + 1);
      auto given = options_.build_args.find(m.name);
      if (given != options_.build_args.end()) {
        m.value = given->second;
      } else if (m.default_value) {
        try {
          m.value = lexer_.ProcessWord(*m.default_value, df.global_args);
        } catch (const ExpandError& e) {
          Fail(ins.line, ins.end_line, e.what());
        }
      }
      if (m.value) df.global_args[m.name] = *m.value;
      df.meta_args.push_back(std::move(m));
    }
  }

  void CheckStageNames(const Dockerfile& df) const {
    for (const Stage& s : df.stages) {
      if (s.name.empty()) continue;
      for (const Stage& earlier : df.stages) {
        if (earlier.index >= s.index) break;
        if (earlier.name == s.name)
          Fail(s.line, s.from.end_line,
               "duplicate stage name \"" + s.name + "\" (first defined on line " + std::to_string(earlier.line) +
                   "): stage names must be unique");
      }
    }
  }

  int FindTarget(const Dockerfile& df) const {
    if (options_.target.empty()) return static_cast<int>(df.stages.size()) - 1;
    std::string want = Lower(options_.target);
    std::vector<std::string> names;
    for (const Stage& s : df.stages) {
      if (s.name == want) return s.index;
      if (!s.name.empty()) names.push_back(s.name);
    }
    std::string msg = "target stage \"" + options_.target + "\" could not be found";
    if (auto s = Suggest(want, names)) msg += " (did you mean " + *s + "?)";
    throw ParseError({file_, 0, 0, 0}, msg);
  }

  // The stage `name` refers to when used at stage `user`: an earlier stage,
  // or -1 for an image. Forward references and self references are errors.
  int StageByName(const Dockerfile& df, const std::string& name, const Stage& user, const Instruction& ins,
                  bool allow_self_as_image) const {
    std::string want = Lower(name);
    for (const Stage& s : df.stages) {
      if (s.name.empty() || s.name != want) continue;
      if (s.index < user.index) return s.index;
      if (s.index == user.index) {
        if (allow_self_as_image) return -1;
        Fail(ins.line, ins.end_line, "circular dependency detected on stage: " + s.name);
      }
      Fail(ins.line, ins.end_line,
           "stage \"" + s.name + "\" is used before it is defined (it starts on line " + std::to_string(s.line) +
               "): a stage can only use the stages above it");
    }
    return -1;
  }

  // --from=<name|index>: the stage, or -1 for an image.
  int StageOfFrom(const Dockerfile& df, const std::string& from, const Stage& user, const Instruction& ins) const {
    bool numeric = !from.empty() && std::all_of(from.begin(), from.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (numeric) {
      // Stage indexes are small; a longer number cannot name one.
      constexpr size_t kMaxIndexDigits = 6;
      int idx = from.size() > kMaxIndexDigits ? -1 : std::stoi(from);
      if (idx == user.index) Fail(ins.line, ins.end_line, "circular dependency detected on stage: " + from);
      if (idx < 0 || idx > user.index)
        Fail(ins.line, ins.end_line,
             "--from=" + from + " names stage index " + from + ", but " +
                 (user.index == 0 ? std::string("no stage comes before this one")
                                  : "only stages 0 to " + std::to_string(user.index - 1) + " come before this one"));
      return idx;
    }
    return StageByName(df, from, user, ins, false);
  }

  void ResolveBase(Stage& s, Dockerfile& df) {
    const std::string& raw = s.from.args[0];
    ExpandResult r;
    try {
      r = lexer_.ProcessWordWithMatches(raw, df.global_args);
    } catch (const ExpandError& e) {
      Fail(s.line, s.from.end_line, e.what());
    }
    if (r.word.empty()) Fail(s.line, s.from.end_line, "base name (" + raw + ") should not be blank");
    for (const std::string& v : r.unmatched)
      df.warnings.push_back({s.line, "FROM " + raw + ": variable " + v +
                                         " is not defined (declare it with ARG before the first FROM)"});
    s.base = r.word;
    if (s.from.HasFlag("platform")) {
      try {
        s.platform = lexer_.ProcessWord(s.from.Flag("platform"), df.global_args);
      } catch (const ExpandError& e) {
        Fail(s.line, s.from.end_line, e.what());
      }
    }
    s.base_stage = StageByName(df, s.base, s, s.from, true);
    if (s.base_stage >= 0) s.base = df.stages[s.base_stage].name;
  }

  void FindDependencies(Stage& s, const Dockerfile& df) {
    std::vector<int> deps;
    if (s.base_stage >= 0) deps.push_back(s.base_stage);
    for (const Instruction& ins : s.instructions) {
      if ((ins.keyword == Keyword::kCopy) && ins.HasFlag("from")) {
        int d = StageOfFrom(df, ins.Flag("from"), s, ins);
        if (d >= 0) deps.push_back(d);
      }
      if (ins.keyword == Keyword::kRun) {
        for (const std::string& spec : ins.FlagValues("mount")) {
          std::string from = ParseRunMount(spec).from;
          if (from.empty()) continue;
          int d = StageOfFrom(df, from, s, ins);
          if (d >= 0) deps.push_back(d);
        }
      }
    }
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    s.depends_on = std::move(deps);
  }

  static void MarkNeeded(Dockerfile& df, int index) {
    Stage& s = df.stages[index];
    if (s.needed) return;
    s.needed = true;
    // Dependencies always point to earlier stages, so this recursion is
    // bounded by the number of stages and cannot loop.
    for (int d : s.depends_on) MarkNeeded(df, d);
  }

  const std::string& file_;
  const ParseOptions& options_;
  ShellLexer lexer_;
};

}  // namespace

std::string BuildPlatform() {
#if defined(__x86_64__)
  return "linux/amd64";
#elif defined(__aarch64__)
  return "linux/arm64";
#elif defined(__arm__)
  return "linux/arm/v7";
#elif defined(__i386__)
  return "linux/386";
#elif defined(__riscv) && __riscv_xlen == 64
  return "linux/riscv64";
#elif defined(__s390x__)
  return "linux/s390x";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "linux/ppc64le";
#else
#error "bld does not know the OCI name of this architecture"
#endif
}

bool IsPredefinedProxyArg(std::string_view name) {
  static const std::vector<std::string_view> kProxyArgs = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                                           "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                                           "ALL_PROXY",  "all_proxy"};
  return std::find(kProxyArgs.begin(), kProxyArgs.end(), name) != kProxyArgs.end();
}

VarMap AutomaticArgs(const std::string& platform, const std::string& target_stage) {
  Platform build = *NormalizePlatform(BuildPlatform());
  std::optional<Platform> target = platform.empty() ? build : NormalizePlatform(platform);
  if (!target)
    throw ParseError({"", 0, 0, 0}, "invalid platform \"" + platform + "\": expected os/arch[/variant], e.g. linux/arm64");
  return VarMap{{"BUILDPLATFORM", build.String()},   {"BUILDOS", build.os},
                {"BUILDARCH", build.arch},           {"BUILDVARIANT", build.variant},
                {"TARGETPLATFORM", target->String()}, {"TARGETOS", target->os},
                {"TARGETARCH", target->arch},        {"TARGETVARIANT", target->variant},
                {"TARGETSTAGE", target_stage}};
}

Dockerfile ParseDockerfile(std::string_view text, const ParseOptions& options) {
  return StageReader(options.file_name, options).Read(text);
}

}  // namespace bld::parser
