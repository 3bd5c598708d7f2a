#include "builder/cache_spec.h"

#include <map>
#include <set>

#include "builder/spec_fields.h"
#include "store/error.h"

namespace bld::builder {

namespace {

struct TypeKeys {
  CacheType type;
  std::string_view name;
  std::set<std::string> keys;  // besides type=
};

const std::vector<TypeKeys>& ExportTypes() {
  static const std::vector<TypeKeys> types = {
      {CacheType::kRegistry, "registry", {"ref", "mode", "compression", "oci-mediatypes", "ignore-error"}},
      {CacheType::kLocal, "local", {"dest", "mode", "compression", "oci-mediatypes", "ignore-error"}},
      {CacheType::kInline, "inline", {}},
  };
  return types;
}

const std::vector<TypeKeys>& ImportTypes() {
  static const std::vector<TypeKeys> types = {
      {CacheType::kRegistry, "registry", {"ref"}},
      {CacheType::kLocal, "local", {"src"}},
  };
  return types;
}

std::string Names(const std::vector<TypeKeys>& types) {
  std::string out;
  for (size_t i = 0; i < types.size(); ++i) out += (i ? ", " : "") + std::string(types[i].name);
  return out;
}

std::string KeyList(const std::set<std::string>& keys) {
  if (keys.empty()) return "no keys";
  std::string out;
  size_t i = 0;
  for (const std::string& k : keys) out += (i++ ? ", " : "") + k + "=";
  return out;
}

const TypeKeys& TypeOf(const std::map<std::string, std::string>& fields, const std::vector<TypeKeys>& types,
                       bool importing, const std::string& where) {
  auto type = fields.find("type");
  if (type == fields.end()) throw Error(where + "type= is missing: use type=" + Names(types));
  for (const TypeKeys& t : types)
    if (t.name == type->second) return t;
  std::string hint;
  if (importing && type->second == "inline")
    hint = " (an image's inline cache is read with --cache-from type=registry,ref=IMAGE)";
  throw Error(where + "type=" + type->second + " is not supported by bld: use " + Names(types) + hint);
}

store::Compression CompressionValue(const std::string& value, const std::string& where) {
  if (value == "gzip") return store::Compression::kGzip;
  if (value == "zstd") return store::Compression::kZstd;
  if (value == "uncompressed") return store::Compression::kNone;
  throw Error(where + "compression=" + value + ": use gzip, zstd or uncompressed");
}

void SetKey(CacheSpec& out, const std::string& key, const std::string& value, const std::string& where) {
  if (key == "ref") out.ref = value;
  if (key == "dest" || key == "src") out.dir = value;
  if (key == "ignore-error") out.ignore_error = SpecBool(key, value, where);
  if (key == "compression") out.compression = CompressionValue(value, where);
  if (key == "mode") {
    if (value != "min" && value != "max") throw Error(where + "mode=" + value + ": use mode=min or mode=max");
    out.mode = value == "max" ? CacheMode::kMax : CacheMode::kMin;
  }
  if (key == "oci-mediatypes" && !SpecBool(key, value, where))
    throw Error(where + "oci-mediatypes=false: bld writes its cache with OCI media types only");
}

CacheSpec Parse(const std::string& spec, bool importing) {
  std::string flag = importing ? "--cache-from" : "--cache-to";
  std::string where = flag + " " + spec + ": ";
  if (spec.empty()) throw Error(flag + " needs a value: type=...");
  CacheSpec out;
  out.spec = spec;
  if (importing && spec.find('=') == std::string::npos && spec.find(',') == std::string::npos) {
    out.ref = spec;  // BuildKit's short form: an image or cache reference
    return out;
  }
  std::map<std::string, std::string> fields =
      SpecFields(spec, where, importing ? "write --cache-from REF alone for type=registry,ref=REF" : "use type=...");
  const TypeKeys& type = TypeOf(fields, importing ? ImportTypes() : ExportTypes(), importing, where);
  out.type = type.type;
  for (const auto& [key, value] : fields) {
    if (key == "type") continue;
    if (!type.keys.count(key))
      throw Error(where + "type=" + std::string(type.name) + " takes no " + key + "= (it takes " + KeyList(type.keys) +
                  ")");
    SetKey(out, key, value, where);
  }
  if (out.type == CacheType::kRegistry && out.ref.empty()) throw Error(where + "type=registry needs ref=REF");
  if (out.type == CacheType::kLocal && out.dir.empty())
    throw Error(where + "type=local needs " + (importing ? "src=DIR" : "dest=DIR"));
  return out;
}

}  // namespace

CacheSpec ParseCacheExport(const std::string& spec) { return Parse(spec, false); }
CacheSpec ParseCacheImport(const std::string& spec) { return Parse(spec, true); }

}  // namespace bld::builder
