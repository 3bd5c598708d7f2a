#include "builder/config_step.h"

#include <csignal>
#include <cstdlib>

#include "parser/json_array.h"
#include "store/error.h"

namespace bld::builder {

namespace {

using parser::Keyword;

const std::vector<std::string> kDefaultShell = {"/bin/sh", "-c"};

// Go's fmt %q of a []string: ["a" "b"].
std::string GoQuotedList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += " ";
    out += parser::JsonQuote(v[i]);
  }
  return out + "]";
}

// Go's fmt %v of a []string: [a b].
std::string GoPlainList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + v[i];
  return out + "]";
}

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

constexpr long kMaxPort = 65535;

long ParsePort(const std::string& text, const std::string& spec) {
  char* end = nullptr;
  long port = text.empty() ? -1 : std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || port < 0 || port > kMaxPort)
    throw Error("EXPOSE " + spec + ": invalid port \"" + text + "\" (ports are numbers from 0 to 65535)");
  return port;
}

void Expose(const std::string& spec, std::set<std::string>& ports) {
  std::string port = spec, proto = "tcp";
  if (size_t slash = spec.find('/'); slash != std::string::npos) {
    port = spec.substr(0, slash);
    proto = spec.substr(slash + 1);
    for (char& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (proto != "tcp" && proto != "udp" && proto != "sctp")
      throw Error("EXPOSE " + spec + ": invalid protocol \"" + proto + "\" (use tcp, udp or sctp)");
  }
  // Docker accepts and ignores an IP part (ip:port).
  if (size_t colon = port.rfind(':'); colon != std::string::npos) port = port.substr(colon + 1);
  long first, last;
  if (size_t dash = port.find('-'); dash != std::string::npos) {
    first = ParsePort(port.substr(0, dash), spec);
    last = ParsePort(port.substr(dash + 1), spec);
    if (last < first) throw Error("EXPOSE " + spec + ": invalid port range (the end is before the start)");
  } else {
    first = last = ParsePort(port, spec);
  }
  for (long p = first; p <= last; ++p) ports.insert(std::to_string(p) + "/" + proto);
}

void CheckSignal(const std::string& sig) {
  std::string s = sig;
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  static const char* const kNames[] = {"HUP",  "INT",  "QUIT", "ILL",  "TRAP",   "ABRT", "IOT",    "BUS",
                                       "FPE",  "KILL", "USR1", "SEGV", "USR2",   "PIPE", "ALRM",   "TERM",
                                       "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
                                       "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS"};
  for (const char* n : kNames)
    if (s == n) return;
  auto numeric_in = [](const std::string& t, long lo, long hi) {
    char* end = nullptr;
    long v = t.empty() ? -1 : std::strtol(t.c_str(), &end, 10);
    return !t.empty() && *end == '\0' && v >= lo && v <= hi;
  };
  if (numeric_in(sig, 1, SIGRTMAX)) return;
  int span = SIGRTMAX - SIGRTMIN;
  if (s.rfind("RTMIN+", 0) == 0 && numeric_in(s.substr(6), 0, span)) return;
  if (s.rfind("RTMAX-", 0) == 0 && numeric_in(s.substr(6), 0, span)) return;
  if (s == "RTMIN" || s == "RTMAX") return;
  throw Error("STOPSIGNAL: invalid signal \"" + sig + "\" (e.g. SIGTERM, SIGQUIT or 15)");
}

int64_t DurationFlag(const parser::Instruction& ins, const char* name) {
  if (!ins.HasFlag(name)) return 0;
  // The parser already refused malformed values.
  return parser::ParseDuration(ins.Flag(name)).value_or(0);
}

}  // namespace

std::string EnvValue(const std::vector<std::string>& env, const std::string& key, bool* found) {
  for (const std::string& kv : env) {
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') {
      if (found) *found = true;
      return kv.substr(key.size() + 1);
    }
    if (kv == key) {
      if (found) *found = true;
      return "";
    }
  }
  if (found) *found = false;
  return "";
}

void SetEnv(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  for (std::string& kv : env) {
    if (kv == key || (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=')) {
      kv = key + "=" + value;
      return;
    }
  }
  env.push_back(key + "=" + value);
}

std::string ResolveWorkdir(const std::string& current, const std::string& dir) {
  std::string joined = !dir.empty() && dir[0] == '/' ? dir : (current.empty() ? "/" : current) + "/" + dir;
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= joined.size()) {
    size_t slash = joined.find('/', i);
    if (slash == std::string::npos) slash = joined.size();
    std::string part = joined.substr(i, slash - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = slash + 1;
  }
  return "/" + Join(parts, "/");
}

std::vector<std::string> CommandArgv(const parser::Instruction& ins, const store::ContainerConfig& config) {
  if (ins.json_form) return ins.args;
  std::vector<std::string> argv = config.shell.empty() ? kDefaultShell : config.shell;
  // HEALTHCHECK's args[0] is its type; its command follows.
  size_t first = ins.keyword == Keyword::kHealthcheck ? 1 : 0;
  if (ins.args.size() > first) argv.push_back(ins.args[first]);
  return argv;
}

void ApplyToConfig(const parser::Instruction& ins, const std::vector<std::string>& args, store::ImageConfig& image,
                   StageState& state) {
  store::ContainerConfig& c = image.config;
  switch (ins.keyword) {
    case Keyword::kEnv:
      for (size_t i = 0; i + 1 < args.size(); i += 2) SetEnv(c.env, args[i], args[i + 1]);
      break;
    case Keyword::kLabel:
      for (size_t i = 0; i + 1 < args.size(); i += 2) c.labels[args[i]] = args[i + 1];
      break;
    case Keyword::kExpose:
      for (const std::string& p : args) Expose(p, c.exposed_ports);
      break;
    case Keyword::kUser: c.user = args.at(0); break;
    case Keyword::kWorkdir: c.working_dir = ResolveWorkdir(c.working_dir, args.at(0)); break;
    case Keyword::kVolume:
      for (const std::string& v : args) {
        if (v.find_first_not_of(" \t") == std::string::npos) throw Error("VOLUME specified can not be an empty string");
        c.volumes.insert(v);
      }
      break;
    case Keyword::kStopsignal:
      CheckSignal(args.at(0));
      c.stop_signal = args.at(0);
      break;
    case Keyword::kHealthcheck: {
      store::HealthConfig h;
      if (ins.args.at(0) == "NONE") {
        h.test = {"NONE"};
      } else {
        if (ins.json_form) {
          h.test = {"CMD"};
          h.test.insert(h.test.end(), ins.args.begin() + 1, ins.args.end());
        } else {
          h.test = {"CMD-SHELL", ins.args.at(1)};
        }
        h.interval_ns = DurationFlag(ins, "interval");
        h.timeout_ns = DurationFlag(ins, "timeout");
        h.start_period_ns = DurationFlag(ins, "start-period");
        h.start_interval_ns = DurationFlag(ins, "start-interval");
        if (ins.HasFlag("retries")) h.retries = std::stoll(ins.Flag("retries"));
      }
      c.healthcheck = h;
      break;
    }
    case Keyword::kShell: c.shell = ins.args; break;
    case Keyword::kCmd:
      c.cmd = CommandArgv(ins, c);
      state.cmd_set = true;
      break;
    case Keyword::kEntrypoint:
      c.entrypoint = CommandArgv(ins, c);
      // An ENTRYPOINT resets a CMD inherited from the base image.
      if (!state.cmd_set) c.cmd.clear();
      break;
    case Keyword::kOnbuild: c.on_build.push_back(ins.onbuild->original); break;
    case Keyword::kMaintainer: image.author = args.at(0); break;
    case Keyword::kArg:
    case Keyword::kFrom:
    case Keyword::kRun:
    case Keyword::kCopy:
    case Keyword::kAdd: break;
  }
}

std::string CreatedBy(const parser::Instruction& ins, const std::vector<std::string>& args,
                      const store::ContainerConfig& config, const parser::VarMap& run_args) {
  const std::string kw(parser::KeywordName(ins.keyword));
  switch (ins.keyword) {
    case Keyword::kRun: {
      std::string prefix;
      if (!run_args.empty()) {
        prefix = "|" + std::to_string(run_args.size());
        for (const auto& [k, v] : run_args) prefix += " " + k + "=" + v;
        prefix += " ";
      }
      std::vector<std::string> argv = CommandArgv(ins, config);
      std::string text = Join(argv, " ");
      for (const parser::Heredoc& h : ins.heredocs) text += "\n" + h.content + h.name;
      return "RUN " + prefix + text + " # buildkit";
    }
    case Keyword::kCopy:
    case Keyword::kAdd: {
      std::string flags;
      for (const std::string& f : ins.flags) flags += f + " ";
      return kw + " " + flags + Join(args, " ") + " # buildkit";
    }
    case Keyword::kEnv:
    case Keyword::kLabel: {
      std::string out = kw;
      for (size_t i = 0; i + 1 < args.size(); i += 2) out += " " + args[i] + "=" + args[i + 1];
      return out;
    }
    case Keyword::kExpose: {
      std::set<std::string> ports;
      for (const std::string& p : args) Expose(p, ports);
      std::string out = "EXPOSE map[";
      bool first = true;
      for (const std::string& p : ports) {
        out += (first ? "" : " ") + p + ":{}";
        first = false;
      }
      return out + "]";
    }
    case Keyword::kCmd:
    case Keyword::kEntrypoint: return kw + " " + GoQuotedList(CommandArgv(ins, config));
    case Keyword::kShell: return "SHELL " + GoPlainList(ins.args);
    case Keyword::kVolume: return "VOLUME " + GoPlainList(args);
    case Keyword::kHealthcheck:
      if (ins.args.at(0) == "NONE") return "HEALTHCHECK NONE";
      return "HEALTHCHECK " + (ins.json_form ? GoQuotedList(std::vector<std::string>(ins.args.begin() + 1, ins.args.end()))
                                             : "CMD " + ins.args.at(1));
    case Keyword::kOnbuild: return "ONBUILD " + ins.onbuild->original;
    case Keyword::kArg: return "ARG " + Join(args, " ");
    case Keyword::kUser:
    case Keyword::kWorkdir:
    case Keyword::kStopsignal:
    case Keyword::kMaintainer: return kw + " " + args.at(0);
    case Keyword::kFrom: return "FROM " + args.at(0);
  }
  return kw;
}

}  // namespace bld::builder
