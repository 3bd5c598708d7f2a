#include "builder/build_output.h"

#include <array>
#include <map>
#include <vector>

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

// The spec's key=value pairs; each key once, each with a value.
std::map<std::string, std::string> Fields(const std::string& spec, const std::string& where) {
  std::map<std::string, std::string> fields;
  size_t pos = 0;
  for (;;) {
    size_t comma = spec.find(',', pos);
    std::string field = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t eq = field.find('=');
    if (eq == std::string::npos)
      throw Error(where + "\"" + field + "\" is not key=value (write -o DIR alone for type=local,dest=DIR)");
    std::string key = field.substr(0, eq);
    std::string value = field.substr(eq + 1);
    if (value.empty()) throw Error(where + key + "= needs a value");
    if (!fields.emplace(key, value).second) throw Error(where + key + "= is given twice");
    if (comma == std::string::npos) return fields;
    pos = comma + 1;
  }
}

bool BoolValue(const std::string& key, const std::string& value, const std::string& where) {
  if (value == "true") return true;
  if (value == "false") return false;
  throw Error(where + key + "=" + value + ": use " + key + "=true or " + key + "=false");
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
  std::map<std::string, std::string> fields = Fields(spec, where);
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
    if (key == "push") out.push = BoolValue(key, value, where);
    if (key == "tar") out.tar = BoolValue(key, value, where);
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
