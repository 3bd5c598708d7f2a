#include "builder/build_output.h"

#include <array>
#include <map>
#include <vector>

#include "builder/spec_fields.h"
#include "store/error.h"

namespace bld::builder {

namespace {

struct TypeKeys {
  OutputType type;
  std::string_view name;
  std::vector<std::string_view> keys;  // besides type=
  bool needs_dest;
};

const std::array<TypeKeys, 5>& Types() {
  static const std::array<TypeKeys, 5> types = {{
      {OutputType::kLocal, "local", {"dest"}, true},
      {OutputType::kTar, "tar", {"dest"}, true},
      {OutputType::kOci, "oci", {"dest", "name", "tar"}, true},
      {OutputType::kDocker, "docker", {"dest", "name"}, true},
      {OutputType::kImage, "image", {"name", "push"}, false},
  }};
  return types;
}

std::string KeyList(const std::vector<std::string_view>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += i + 1 == keys.size() ? " and " : ", ";
    out += std::string(keys[i]) + "=";
  }
  return out;
}

const TypeKeys& TypeOf(const std::map<std::string, std::string>& fields, const std::string& where) {
  auto type = fields.find("type");
  if (type == fields.end()) throw Error(where + "type= is missing: use type=local, tar, oci, docker or image");
  for (const TypeKeys& t : Types())
    if (t.name == type->second) return t;
  std::string hint = type->second == "registry" ? " (type=image,push=true pushes the image)" : "";
  throw Error(where + "unknown type=" + type->second + ": use local, tar, oci, docker or image" + hint);
}

}  // namespace

std::string_view OutputTypeName(OutputType type) {
  for (const TypeKeys& t : Types())
    if (t.type == type) return t.name;
  return "?";
}

BuildOutput ParseBuildOutput(const std::string& spec) {
  std::string where = "--output " + spec + ": ";
  if (spec.empty()) throw Error("--output needs a value: a directory, - or type=...");
  BuildOutput out;
  if (spec.find('=') == std::string::npos && spec.find(',') == std::string::npos) {
    out.type = spec == "-" ? OutputType::kTar : OutputType::kLocal;
    out.dest = spec;
    return out;
  }
  std::map<std::string, std::string> fields =
      SpecFields(spec, where, "write -o DIR alone for type=local,dest=DIR");
  const TypeKeys& type = TypeOf(fields, where);
  out.type = type.type;
  for (const auto& [key, value] : fields) {
    if (key == "type") continue;
    bool known = false;
    for (std::string_view k : type.keys) known = known || k == key;
    if (!known)
      throw Error(where + "type=" + std::string(type.name) + " takes no " + key + "= (it takes " +
                  KeyList(type.keys) + ")");
    if (key == "dest") out.dest = value;
    if (key == "name") out.name = value;
    if (key == "push") out.push = SpecBool(key, value, where);
    if (key == "tar") out.tar = SpecBool(key, value, where);
  }
  if (type.needs_dest && out.dest.empty())
    throw Error(where + "type=" + std::string(type.name) + " needs dest=" +
                (type.type == OutputType::kLocal ? "DIR" : "FILE"));
  if (!out.tar && out.to_stdout()) throw Error(where + "tar=false writes a directory, which cannot go to stdout (-)");
  if (out.type == OutputType::kLocal && out.to_stdout())
    throw Error(where + "type=local writes a directory, which cannot go to stdout: use type=tar,dest=-");
  return out;
}

}  // namespace bld::builder
