// `bld parse`: the front end's view of a Dockerfile as one JSON object, for
// tools and tests.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "builder/build_input.h"
#include "cli/commands.h"
#include "cli/error_report.h"
#include "parser/dockerfile.h"
#include "store/error.h"

namespace bld::cli {

namespace {

using nlohmann::ordered_json;

ordered_json InstructionJson(const parser::Instruction& ins) {
  ordered_json j;
  j["keyword"] = std::string(parser::KeywordName(ins.keyword));
  j["line"] = ins.line;
  j["end_line"] = ins.end_line;
  j["flags"] = ins.flags;
  if (ins.onbuild) {
    j["args"] = ordered_json::array({InstructionJson(*ins.onbuild)});
  } else {
    j["args"] = ins.args;
  }
  j["json_form"] = ins.json_form;
  ordered_json docs = ordered_json::array();
  for (const parser::Heredoc& h : ins.heredocs)
    docs.push_back({{"name", h.name}, {"content", h.content}, {"expand", h.expand}, {"chomp", h.chomp}, {"fd", h.fd}});
  j["heredocs"] = docs;
  return j;
}

ordered_json DockerfileJson(const parser::Dockerfile& df) {
  ordered_json out;
  ordered_json directives = ordered_json::object();
  directives["escape"] = std::string(1, df.directives.escape);
  for (const auto& [k, v] : df.directives.values)
    if (k != "escape") directives[k] = v;
  out["directives"] = directives;
  ordered_json meta = ordered_json::array();
  for (const parser::MetaArg& m : df.meta_args)
    meta.push_back({{"name", m.name}, {"value", m.value ? ordered_json(*m.value) : ordered_json(nullptr)}});
  out["meta_args"] = meta;
  ordered_json stages = ordered_json::array();
  for (const parser::Stage& s : df.stages) {
    ordered_json js;
    js["index"] = s.index;
    js["name"] = s.name.empty() ? ordered_json(nullptr) : ordered_json(s.name);
    js["base"] = s.base;
    js["platform"] = s.platform ? ordered_json(*s.platform) : ordered_json(nullptr);
    js["needed"] = s.needed;
    js["depends_on"] = s.depends_on;
    ordered_json list = ordered_json::array();
    list.push_back(InstructionJson(s.from));
    for (const parser::Instruction& ins : s.instructions) list.push_back(InstructionJson(ins));
    js["instructions"] = list;
    stages.push_back(std::move(js));
  }
  out["stages"] = std::move(stages);
  ordered_json warnings = ordered_json::array();
  for (const parser::Warning& w : df.warnings) warnings.push_back({{"line", w.line}, {"message", w.message}});
  out["warnings"] = warnings;
  return out;
}

std::string ReadDockerfileArg(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  return builder::ReadDockerfile(path);
}

}  // namespace

void AddParseCommand(CLI::App& app, CommandContext& ctx) {
  struct Options {
    std::string file = "Dockerfile";
    std::string target;
    std::vector<std::string> build_args;
    std::string platform;
  };
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("parse", "Parse a Dockerfile and print its stages and instructions as JSON");
  cmd->add_option("-f,--file", opts->file, "Dockerfile to read (- for stdin)");
  cmd->add_option("--target", opts->target, "Stage to build");
  cmd->add_option("--build-arg", opts->build_args, "Build-time variable K=V")->allow_extra_args(false);
  cmd->add_option("--platform", opts->platform, "Target platform (os/arch[/variant])");
  cmd->callback([&ctx, opts] {
    RunCommand(ctx, [opts] {
      std::string text = ReadDockerfileArg(opts->file);
      parser::ParseOptions po;
      po.file_name = opts->file == "-" ? "Dockerfile" : opts->file;
      po.target = opts->target;
      po.platform = opts->platform;
      for (const std::string& kv : opts->build_args) {
        size_t eq = kv.find('=');
        // `--build-arg NAME` takes the value from the environment, as docker does.
        if (eq == std::string::npos) {
          if (const char* v = std::getenv(kv.c_str())) po.build_args[kv] = v;
        } else {
          po.build_args[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
      }
      parser::Dockerfile df;
      try {
        df = parser::ParseDockerfile(text, po);
      } catch (const parser::ParseError& e) {
        PrintParseError(e, &text);
        return 1;
      }
      std::printf("%s\n", DockerfileJson(df).dump(2).c_str());
      return 0;
    });
  });
}

}  // namespace bld::cli
