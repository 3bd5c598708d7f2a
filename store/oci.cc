#include "store/oci.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "store/error.h"

namespace bld::store {

namespace {

using Json = nlohmann::json;
// Writing keeps insertion order so that fields come out in the specs' order.
using OrderedJson = nlohmann::ordered_json;

// The schemaVersion every manifest and index of the specs bld reads carries.
constexpr int64_t kSchemaVersion2 = 2;
// Image documents nest four levels deep at most. Without a cap, 4 MiB of "["
// would parse into millions of nested arrays, hundreds of MiB of memory.
constexpr int kMaxJsonDepth = 32;

// A problem at one place in a document; the Parse functions turn it into a
// bld::Error that also names the document.
struct Invalid {
  std::string message;
};

[[noreturn]] void Fail(const std::string& path, const std::string& message) {
  throw Invalid{path.empty() ? message : path + ": " + message};
}

std::string Member(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Element(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string KindOf(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::null: return "null";
    case Json::value_t::number_float: return "a fractional number";
    default: return "a number";
  }
}

[[noreturn]] void WrongType(const std::string& path, std::string_view expected, const Json& value) {
  Fail(path, "expected " + std::string(expected) + ", got " + KindOf(value));
}

std::string AsString(const Json& value, const std::string& path) {
  if (!value.is_string()) WrongType(path, "a string", value);
  return value.get<std::string>();
}

int64_t AsInt(const Json& value, const std::string& path) {
  if (value.is_number_unsigned()) {
    uint64_t n = value.get<uint64_t>();
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) Fail(path, "number out of range");
    return static_cast<int64_t>(n);
  }
  if (!value.is_number_integer()) WrongType(path, "an integer", value);
  return value.get<int64_t>();
}

Digest AsDigest(const Json& value, const std::string& path) {
  std::string text = AsString(value, path);
  try {
    return Digest::Parse(text);
  } catch (const Error& e) {
    Fail(path, e.what());
  }
}

// Reads the fields of one JSON object. An absent field and a null one read
// alike, as Go's encoding/json (which wrote most of the documents bld reads)
// treats them: Docker writes "Cmd": null where OCI writers omit the field.
class ObjectReader {
 public:
  ObjectReader(const Json& value, std::string path) : value_(value), path_(std::move(path)) {
    if (!value_.is_object()) WrongType(path_, "an object", value_);
  }

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const { return Member(path_, key); }

  // nullptr when the field is absent or null.
  const Json* Find(std::string_view key) const {
    auto it = value_.find(key);
    if (it == value_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  const Json& Required(std::string_view key) const {
    const Json* field = Find(key);
    if (!field) Fail(PathOf(key), "missing");
    return *field;
  }

  std::string String(std::string_view key) const {
    const Json* field = Find(key);
    return field ? AsString(*field, PathOf(key)) : std::string();
  }

  int64_t Int(std::string_view key) const {
    const Json* field = Find(key);
    return field ? AsInt(*field, PathOf(key)) : 0;
  }

  bool Bool(std::string_view key) const {
    const Json* field = Find(key);
    if (!field) return false;
    if (!field->is_boolean()) WrongType(PathOf(key), "a boolean", *field);
    return field->get<bool>();
  }

  std::vector<std::string> Strings(std::string_view key) const {
    std::vector<std::string> out;
    ForEachElement(key, [&](const Json& element, const std::string& path) {
      out.push_back(AsString(element, path));
    });
    return out;
  }

  std::map<std::string, std::string> StringMap(std::string_view key) const {
    std::map<std::string, std::string> out;
    const Json* field = Find(key);
    if (!field) return out;
    std::string path = PathOf(key);
    if (!field->is_object()) WrongType(path, "an object", *field);
    for (const auto& [name, value] : field->items()) out[name] = AsString(value, Member(path, name));
    return out;
  }

  // Go's map[string]struct{}: a set written as {"80/tcp": {}}.
  std::set<std::string> KeySet(std::string_view key) const {
    std::set<std::string> out;
    const Json* field = Find(key);
    if (!field) return out;
    std::string path = PathOf(key);
    if (!field->is_object()) WrongType(path, "an object", *field);
    for (const auto& [name, value] : field->items()) {
      if (!value.is_object() && !value.is_null()) WrongType(Member(path, name), "an object", value);
      out.insert(name);
    }
    return out;
  }

  template <typename Fn>
  void ForEachElement(std::string_view key, Fn&& fn) const {
    const Json* field = Find(key);
    if (!field) return;
    std::string path = PathOf(key);
    if (!field->is_array()) WrongType(path, "an array", *field);
    for (size_t i = 0; i < field->size(); ++i) fn((*field)[i], Element(path, i));
  }

 private:
  const Json& value_;
  std::string path_;
};

Platform ReadPlatform(const Json& value, const std::string& path) {
  ObjectReader r(value, path);
  Platform p;
  p.architecture = AsString(r.Required("architecture"), r.PathOf("architecture"));
  p.os = AsString(r.Required("os"), r.PathOf("os"));
  p.os_version = r.String("os.version");
  p.variant = r.String("variant");
  return p;
}

Descriptor ReadDescriptor(const Json& value, const std::string& path) {
  ObjectReader r(value, path);
  Descriptor d;
  d.media_type = AsString(r.Required("mediaType"), r.PathOf("mediaType"));
  d.digest = AsDigest(r.Required("digest"), r.PathOf("digest"));
  d.size = AsInt(r.Required("size"), r.PathOf("size"));
  if (d.size < 0) Fail(r.PathOf("size"), "must not be negative");
  d.urls = r.Strings("urls");
  d.annotations = r.StringMap("annotations");
  if (const Json* platform = r.Find("platform")) d.platform = ReadPlatform(*platform, r.PathOf("platform"));
  return d;
}

std::vector<Descriptor> ReadDescriptors(const ObjectReader& r, std::string_view key) {
  if (!r.Find(key)) Fail(r.PathOf(key), "missing");
  std::vector<Descriptor> out;
  r.ForEachElement(key, [&](const Json& element, const std::string& path) {
    out.push_back(ReadDescriptor(element, path));
  });
  return out;
}

void CheckSchemaVersion(const ObjectReader& r) {
  int64_t version = AsInt(r.Required("schemaVersion"), r.PathOf("schemaVersion"));
  if (version == 1)
    Fail("", "Docker schema 1 manifests are not supported (deprecated since Docker 1.10; push the image again "
             "with a current client)");
  if (version != kSchemaVersion2)
    Fail(r.PathOf("schemaVersion"), "unsupported version " + std::to_string(version) + " (expected 2)");
}

HealthConfig ReadHealthConfig(const Json& value, const std::string& path) {
  ObjectReader r(value, path);
  HealthConfig h;
  h.test = r.Strings("Test");
  h.interval_ns = r.Int("Interval");
  h.timeout_ns = r.Int("Timeout");
  h.start_period_ns = r.Int("StartPeriod");
  h.start_interval_ns = r.Int("StartInterval");
  h.retries = r.Int("Retries");
  return h;
}

ContainerConfig ReadContainerConfig(const Json& value, const std::string& path) {
  ObjectReader r(value, path);
  ContainerConfig c;
  c.user = r.String("User");
  c.exposed_ports = r.KeySet("ExposedPorts");
  c.env = r.Strings("Env");
  c.entrypoint = r.Strings("Entrypoint");
  c.cmd = r.Strings("Cmd");
  c.volumes = r.KeySet("Volumes");
  c.working_dir = r.String("WorkingDir");
  c.labels = r.StringMap("Labels");
  c.stop_signal = r.String("StopSignal");
  c.args_escaped = r.Bool("ArgsEscaped");
  if (const Json* health = r.Find("Healthcheck")) c.healthcheck = ReadHealthConfig(*health, r.PathOf("Healthcheck"));
  c.on_build = r.Strings("OnBuild");
  c.shell = r.Strings("Shell");
  return c;
}

HistoryEntry ReadHistoryEntry(const Json& value, const std::string& path) {
  ObjectReader r(value, path);
  HistoryEntry h;
  h.created = r.String("created");
  h.created_by = r.String("created_by");
  h.author = r.String("author");
  h.comment = r.String("comment");
  h.empty_layer = r.Bool("empty_layer");
  return h;
}

RootFs ReadRootFs(const Json& value, const std::string& path) {
  ObjectReader r(value, path);
  RootFs rootfs;
  rootfs.type = AsString(r.Required("type"), r.PathOf("type"));
  if (rootfs.type != "layers") Fail(r.PathOf("type"), "unsupported type \"" + rootfs.type + "\" (expected \"layers\")");
  r.ForEachElement("diff_ids", [&](const Json& element, const std::string& element_path) {
    rootfs.diff_ids.push_back(AsDigest(element, element_path));
  });
  return rootfs;
}

// Strips nlohmann's "[json.exception.parse_error.101] " prefix: the rest
// ("parse error at line 1, column 7: ...") is what a user can act on.
std::string ParseErrorText(const Json::exception& e) {
  std::string_view text = e.what();
  size_t end = text.find("] ");
  if (text.starts_with("[json.exception.") && end != std::string_view::npos) text.remove_prefix(end + 2);
  return std::string(text);
}

// Runs read(json) on the parsed document, turning every failure into one
// bld::Error that names the document: "invalid image config sha256:...: ...".
template <typename T, typename ReadFn>
T ParseDocument(std::string_view text, std::string_view kind, std::string_view name, size_t limit, ReadFn read) {
  std::string what = std::string(kind) + " " + std::string(name);
  if (text.size() > limit)
    throw Error(what + " is " + std::to_string(text.size()) + " bytes, more than the " + std::to_string(limit) +
                " bytes bld accepts for a " + std::string(kind));
  auto limit_depth = [](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxJsonDepth) Fail("", "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return true;
  };
  try {
    Json json = Json::parse(text.begin(), text.end(), limit_depth);
    return read(json);
  } catch (const Json::exception& e) {
    throw Error("invalid " + what + ": not valid JSON: " + ParseErrorText(e));
  } catch (const Invalid& e) {
    throw Error("invalid " + what + ": " + e.message);
  }
}

OrderedJson PlatformJson(const Platform& p) {
  OrderedJson j;
  j["architecture"] = p.architecture;
  j["os"] = p.os;
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  if (!p.variant.empty()) j["variant"] = p.variant;
  return j;
}

OrderedJson DescriptorJson(const Descriptor& d) {
  OrderedJson j;
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest.str();
  j["size"] = d.size;
  if (!d.urls.empty()) j["urls"] = d.urls;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) j["platform"] = PlatformJson(*d.platform);
  return j;
}

OrderedJson DescriptorsJson(const std::vector<Descriptor>& descriptors) {
  OrderedJson j = OrderedJson::array();
  for (const Descriptor& d : descriptors) j.push_back(DescriptorJson(d));
  return j;
}

OrderedJson KeySetJson(const std::set<std::string>& keys) {
  OrderedJson j = OrderedJson::object();
  for (const std::string& key : keys) j[key] = OrderedJson::object();
  return j;
}

OrderedJson HealthConfigJson(const HealthConfig& h) {
  OrderedJson j = OrderedJson::object();
  if (!h.test.empty()) j["Test"] = h.test;
  if (h.interval_ns) j["Interval"] = h.interval_ns;
  if (h.timeout_ns) j["Timeout"] = h.timeout_ns;
  if (h.start_period_ns) j["StartPeriod"] = h.start_period_ns;
  if (h.start_interval_ns) j["StartInterval"] = h.start_interval_ns;
  if (h.retries) j["Retries"] = h.retries;
  return j;
}

OrderedJson ContainerConfigJson(const ContainerConfig& c) {
  OrderedJson j = OrderedJson::object();
  if (!c.user.empty()) j["User"] = c.user;
  if (!c.exposed_ports.empty()) j["ExposedPorts"] = KeySetJson(c.exposed_ports);
  if (!c.env.empty()) j["Env"] = c.env;
  if (!c.entrypoint.empty()) j["Entrypoint"] = c.entrypoint;
  if (!c.cmd.empty()) j["Cmd"] = c.cmd;
  if (!c.volumes.empty()) j["Volumes"] = KeySetJson(c.volumes);
  if (!c.working_dir.empty()) j["WorkingDir"] = c.working_dir;
  if (!c.labels.empty()) j["Labels"] = c.labels;
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (c.args_escaped) j["ArgsEscaped"] = true;
  if (c.healthcheck) j["Healthcheck"] = HealthConfigJson(*c.healthcheck);
  if (!c.on_build.empty()) j["OnBuild"] = c.on_build;
  if (!c.shell.empty()) j["Shell"] = c.shell;
  return j;
}

OrderedJson HistoryEntryJson(const HistoryEntry& h) {
  OrderedJson j = OrderedJson::object();
  if (!h.created.empty()) j["created"] = h.created;
  if (!h.created_by.empty()) j["created_by"] = h.created_by;
  if (!h.author.empty()) j["author"] = h.author;
  if (!h.comment.empty()) j["comment"] = h.comment;
  if (h.empty_layer) j["empty_layer"] = true;
  return j;
}

// Compact, and invalid UTF-8 (a LABEL typed in Latin-1) becomes U+FFFD, as
// Go's encoding/json does, instead of failing the build.
std::string Dump(const OrderedJson& j) {
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

}  // namespace

bool IsManifestMediaType(std::string_view media_type) {
  return media_type == media_type::kOciManifest || media_type == media_type::kDockerManifest;
}

bool IsIndexMediaType(std::string_view media_type) {
  return media_type == media_type::kOciIndex || media_type == media_type::kDockerManifestList;
}

ImageManifest ParseImageManifest(std::string_view json, const Digest& digest) {
  return ParseDocument<ImageManifest>(json, "image manifest", digest.str(), kMaxManifestSize, [](const Json& doc) {
    ObjectReader r(doc, "");
    CheckSchemaVersion(r);
    ImageManifest m;
    m.media_type = r.String("mediaType");
    if (!m.media_type.empty() && !IsManifestMediaType(m.media_type)) {
      if (IsIndexMediaType(m.media_type)) Fail("", "it is an image index (" + m.media_type + "), not a manifest");
      Fail("mediaType", "unsupported media type \"" + m.media_type + "\"");
    }
    m.config = ReadDescriptor(r.Required("config"), "config");
    m.layers = ReadDescriptors(r, "layers");
    m.annotations = r.StringMap("annotations");
    return m;
  });
}

ImageIndex ParseImageIndex(std::string_view json, const Digest& digest) {
  return ParseDocument<ImageIndex>(json, "image index", digest.str(), kMaxIndexSize, [](const Json& doc) {
    ObjectReader r(doc, "");
    CheckSchemaVersion(r);
    ImageIndex index;
    index.media_type = r.String("mediaType");
    if (!index.media_type.empty() && !IsIndexMediaType(index.media_type)) {
      if (IsManifestMediaType(index.media_type))
        Fail("", "it is an image manifest (" + index.media_type + "), not an index");
      Fail("mediaType", "unsupported media type \"" + index.media_type + "\"");
    }
    index.manifests = ReadDescriptors(r, "manifests");
    index.annotations = r.StringMap("annotations");
    return index;
  });
}

ImageConfig ParseImageConfig(std::string_view json, const Digest& digest) {
  return ParseDocument<ImageConfig>(json, "image config", digest.str(), kMaxConfigSize, [](const Json& doc) {
    ObjectReader r(doc, "");
    ImageConfig c;
    c.created = r.String("created");
    c.author = r.String("author");
    c.architecture = r.String("architecture");
    c.os = r.String("os");
    c.os_version = r.String("os.version");
    c.variant = r.String("variant");
    if (const Json* config = r.Find("config")) c.config = ReadContainerConfig(*config, "config");
    c.rootfs = ReadRootFs(r.Required("rootfs"), "rootfs");
    r.ForEachElement("history", [&](const Json& element, const std::string& path) {
      c.history.push_back(ReadHistoryEntry(element, path));
    });
    return c;
  });
}

Descriptor ParseDescriptor(std::string_view json, std::string_view what) {
  // Descriptors bld parses this way are its own records, a few hundred bytes;
  // the manifest limit is a generous bound that still refuses garbage.
  return ParseDocument<Descriptor>(json, "descriptor", what, kMaxManifestSize,
                                   [](const Json& doc) { return ReadDescriptor(doc, ""); });
}

std::string Serialize(const Descriptor& descriptor) { return Dump(DescriptorJson(descriptor)); }

std::string Serialize(const ImageManifest& manifest) {
  OrderedJson j;
  j["schemaVersion"] = kSchemaVersion2;
  if (!manifest.media_type.empty()) j["mediaType"] = manifest.media_type;
  j["config"] = DescriptorJson(manifest.config);
  j["layers"] = DescriptorsJson(manifest.layers);
  if (!manifest.annotations.empty()) j["annotations"] = manifest.annotations;
  return Dump(j);
}

std::string Serialize(const ImageIndex& index) {
  OrderedJson j;
  j["schemaVersion"] = kSchemaVersion2;
  if (!index.media_type.empty()) j["mediaType"] = index.media_type;
  j["manifests"] = DescriptorsJson(index.manifests);
  if (!index.annotations.empty()) j["annotations"] = index.annotations;
  return Dump(j);
}

std::string Serialize(const ImageConfig& config) {
  OrderedJson j;
  if (!config.created.empty()) j["created"] = config.created;
  if (!config.author.empty()) j["author"] = config.author;
  j["architecture"] = config.architecture;
  j["os"] = config.os;
  if (!config.os_version.empty()) j["os.version"] = config.os_version;
  if (!config.variant.empty()) j["variant"] = config.variant;
  j["config"] = ContainerConfigJson(config.config);
  OrderedJson rootfs;
  rootfs["type"] = config.rootfs.type;
  rootfs["diff_ids"] = OrderedJson::array();
  for (const Digest& d : config.rootfs.diff_ids) rootfs["diff_ids"].push_back(d.str());
  j["rootfs"] = std::move(rootfs);
  if (!config.history.empty()) {
    j["history"] = OrderedJson::array();
    for (const HistoryEntry& h : config.history) j["history"].push_back(HistoryEntryJson(h));
  }
  return Dump(j);
}

}  // namespace bld::store
