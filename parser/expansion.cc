#include "parser/expansion.h"

namespace bld::parser {

std::vector<std::string> ExpandArgs(const Instruction& ins, const VarMap& vars, char escape) {
  ShellLexer lexer(LexOptions{.escape = escape});
  std::vector<std::string> out;
  switch (ins.keyword) {
    case Keyword::kEnv:
    case Keyword::kLabel:
    case Keyword::kAdd:
    case Keyword::kCopy:
    case Keyword::kVolume:
    case Keyword::kFrom:
    case Keyword::kUser:
    case Keyword::kWorkdir:
    case Keyword::kStopsignal:
      for (const std::string& a : ins.args) out.push_back(lexer.ProcessWord(a, vars));
      return out;
    case Keyword::kExpose:
      for (const std::string& a : ins.args)
        for (std::string& w : lexer.ProcessWords(a, vars)) out.push_back(std::move(w));
      return out;
    case Keyword::kArg:
      for (const std::string& a : ins.args) {
        size_t eq = a.find('=');
        out.push_back(eq == std::string::npos ? a : a.substr(0, eq + 1) + lexer.ProcessWord(a.substr(eq + 1), vars));
      }
      return out;
    case Keyword::kRun:
    case Keyword::kCmd:
    case Keyword::kEntrypoint:
    case Keyword::kShell:
    case Keyword::kHealthcheck:
    case Keyword::kMaintainer:
    case Keyword::kOnbuild: return ins.args;
  }
  return ins.args;
}

std::string ExpandFlag(const Instruction& ins, std::string_view flag, const VarMap& vars, char escape) {
  std::string value = ins.Flag(flag);
  bool expands = false;
  switch (ins.keyword) {
    case Keyword::kCopy: expands = flag == "chown" || flag == "chmod"; break;
    case Keyword::kAdd: expands = flag == "chown" || flag == "chmod" || flag == "checksum"; break;
    case Keyword::kFrom: expands = flag == "platform"; break;
    default: break;
  }
  if (!expands) return value;
  return ShellLexer(LexOptions{.escape = escape}).ProcessWord(value, vars);
}

StageScope::StageScope(VarMap global_args, std::map<std::string, std::string> build_args, VarMap image_env,
                       char escape)
    : global_args_(std::move(global_args)),
      build_args_(std::move(build_args)),
      env_(std::move(image_env)),
      escape_(escape) {}

VarMap StageScope::Vars() const {
  VarMap vars = args_;
  for (const auto& [k, v] : env_) vars[k] = v;
  return vars;
}

void StageScope::Apply(const Instruction& ins) {
  ShellLexer lexer(LexOptions{.escape = escape_});
  if (ins.keyword == Keyword::kEnv) {
    // Every pair is expanded with the variables from before the instruction:
    // `ENV abc=bye def=$abc` gives def the old value of abc, as in Docker.
    const VarMap vars = Vars();
    for (size_t i = 0; i + 1 < ins.args.size(); i += 2) {
      env_[lexer.ProcessWord(ins.args[i], vars)] = lexer.ProcessWord(ins.args[i + 1], vars);
    }
    return;
  }
  if (ins.keyword != Keyword::kArg) return;
  for (const std::string& word : ins.args) {
    size_t eq = word.find('=');
    std::string name = word.substr(0, eq);
    // A --build-arg wins; then the default written here; then the value of
    // the global ARG of the same name.
    std::optional<std::string> value;
    if (auto it = build_args_.find(name); it != build_args_.end()) {
      value = it->second;
    } else if (eq != std::string::npos) {
      value = lexer.ProcessWord(word.substr(eq + 1), Vars());
    } else if (auto g = global_args_.find(name); g != global_args_.end()) {
      value = g->second;
    }
    if (value) {
      args_[name] = *value;
    } else {
      args_.erase(name);
    }
  }
}

}  // namespace bld::parser
