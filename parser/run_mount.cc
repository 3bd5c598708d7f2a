#include "parser/run_mount.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "parser/suggest.h"

namespace bld::parser {

namespace {

constexpr std::string_view kBind = "bind", kCache = "cache", kTmpfs = "tmpfs", kSecret = "secret", kSsh = "ssh";
// A mode beyond the permission, setuid, setgid and sticky bits means nothing
// for a file or a directory.
constexpr uint64_t kMaxMode = 07777;
// BuildKit reads uids, gids and modes as unsigned 32-bit numbers.
constexpr uint64_t kMaxId = UINT32_MAX;
// units.RAMInBytes: binary multiples whatever the suffix says.
constexpr uint64_t kKiB = 1024;

const std::vector<std::string_view> kSharingModes = {"shared", "private", "locked"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Join(const std::vector<std::string_view>& words, std::string_view last_separator) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? std::string(last_separator) : std::string(", ");
    out += words[i];
  }
  return out;
}

std::vector<std::string> Strings(const std::vector<std::string_view>& views) {
  return std::vector<std::string>(views.begin(), views.end());
}

// The key a field's name stands for, or "" for an unknown one.
std::string Canonical(const std::string& key) {
  if (key == "src") return "source";
  if (key == "dst" || key == "destination") return "target";
  if (key == "readonly") return "ro";
  if (key == "readwrite") return "rw";
  for (const MountOptionSpec& spec : MountOptionSpecs())
    if (spec.key == key) return key;
  if (key == "type") return key;
  return "";
}

// One CSV record, as Go's encoding/csv reads it: fields split on commas,
// double quotes group and "" inside them is a quote.
std::vector<std::string> CsvFields(std::string_view spec) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    char ch = spec[i];
    if (ch == '"') {
      if (quoted && i + 1 < spec.size() && spec[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (ch == ',' && !quoted) {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field.push_back(ch);
    }
  }
  if (quoted) throw std::invalid_argument("unterminated quote");
  fields.push_back(std::move(field));
  return fields;
}

// Go's strconv.ParseBool.
bool ParseBool(const std::string& key, const std::string& value) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"})
    if (value == t) return true;
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"})
    if (value == f) return false;
  throw std::invalid_argument("invalid value for " + key + ": " + value + " (use true or false)");
}

uint64_t ParseUnsigned(const std::string& key, const std::string& value, int base, uint64_t max) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n, base);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n > max) {
    std::string what = base == 8 ? "an octal mode up to 07777, e.g. 0755" : "a number from 0 to 4294967295";
    throw std::invalid_argument("invalid value " + value + " for " + key + " (use " + what + ")");
  }
  return n;
}

// docker/go-units RAMInBytes: "64m", "1.5g", "512 KiB", "1024".
uint64_t ParseSize(const std::string& value) {
  auto fail = [&]() -> uint64_t {
    throw std::invalid_argument("invalid value for size: " + value + " (use bytes or a size such as 64m or 1g)");
  };
  size_t i = 0;
  while (i < value.size() && (std::isdigit(static_cast<unsigned char>(value[i])) || value[i] == '.')) ++i;
  std::string number = value.substr(0, i);
  if (number.empty() || !std::isdigit(static_cast<unsigned char>(number[0])) || number.back() == '.') return fail();
  std::string unit = value.substr(i);
  if (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
  uint64_t multiplier = 1;
  if (!unit.empty()) {
    static constexpr std::string_view kUnits = "kmgtp";
    size_t power = kUnits.find(static_cast<char>(std::tolower(static_cast<unsigned char>(unit[0]))));
    if (power != std::string_view::npos) {
      for (size_t p = 0; p <= power; ++p) multiplier *= kKiB;
      unit.erase(0, 1);
    }
    std::string rest = Lower(unit);
    if (!(rest.empty() || rest == "b" || rest == "i" || rest == "ib")) return fail();
  }
  double amount = 0;
  try {
    amount = std::stod(number);
  } catch (const std::exception&) {
    return fail();
  }
  double bytes = amount * static_cast<double>(multiplier);
  if (!std::isfinite(bytes) || bytes >= static_cast<double>(UINT64_MAX)) return fail();
  return static_cast<uint64_t>(bytes);
}

bool Allowed(const MountOptionSpec& spec, const std::string& type) {
  for (std::string_view t : spec.types)
    if (t == type) return true;
  return false;
}

const MountOptionSpec& SpecOf(const std::string& key) {
  for (const MountOptionSpec& spec : MountOptionSpecs())
    if (spec.key == key) return spec;
  throw std::logic_error("no mount option " + key);
}

std::string Basename(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

const std::vector<std::string_view>& MountTypes() {
  static const std::vector<std::string_view> types = {kBind, kCache, kTmpfs, kSecret, kSsh};
  return types;
}

const std::vector<MountOptionSpec>& MountOptionSpecs() {
  static const std::vector<MountOptionSpec> specs = {
      {"from", {kBind, kCache}, {}},
      {"source", {kBind, kCache, kSecret}, {}},
      {"target", {kBind, kCache, kTmpfs, kSecret, kSsh}, {}},
      {"ro", {kBind, kCache, kTmpfs, kSecret, kSsh}, {}},
      {"rw", {kBind, kCache, kTmpfs, kSecret, kSsh}, {}},
      {"id", {kCache, kSecret, kSsh}, {}},
      {"sharing", {kCache}, kSharingModes},
      {"mode", {kCache, kSecret, kSsh}, {}},
      {"uid", {kCache, kSecret, kSsh}, {}},
      {"gid", {kCache, kSecret, kSsh}, {}},
      {"size", {kTmpfs}, {}},
      {"env", {kSecret}, {}},
      {"required", {kSecret, kSsh}, {}},
  };
  return specs;
}

std::string RunMount::Option(std::string_view key) const {
  auto it = options.find(std::string(key));
  return it == options.end() ? std::string() : it->second;
}

namespace {

std::string UnexpectedKeyMessage(const std::string& key, const std::string& field) {
  std::vector<std::string> keys = {"type", "src", "dst", "destination", "readonly", "readwrite"};
  for (const MountOptionSpec& s : MountOptionSpecs()) keys.emplace_back(s.key);
  std::string msg = "unexpected key '" + key + "' in '" + field + "'";
  if (auto s = Suggest(key, keys)) msg += " (did you mean " + *s + "?)";
  return msg;
}

// Every field of `spec` by its canonical key (the type apart), values
// expanded except `from`; the checks that depend on the type come after,
// wherever the type was written.
RunMount ReadMountFields(std::string_view spec, const MountValueExpander& expand) {
  RunMount m;
  for (const std::string& field : CsvFields(spec)) {
    size_t eq = field.find('=');
    std::string key = Lower(field.substr(0, eq));
    std::string canonical = Canonical(key);
    if (canonical.empty()) throw std::invalid_argument(UnexpectedKeyMessage(key, field));
    if (m.options.count(canonical)) throw std::invalid_argument("option '" + canonical + "' is given twice");
    std::string value;
    if (eq == std::string::npos) {
      if (canonical != "ro" && canonical != "rw" && canonical != "required")
        throw std::invalid_argument("invalid field '" + field + "' must be a key=value pair");
      value = "true";
    } else {
      value = field.substr(eq + 1);
      if (expand && canonical != "from") value = expand(value);
    }
    if (canonical == "type")
      m.type = Lower(value);
    else
      m.options[canonical] = value;
  }
  return m;
}

void CheckMountType(const RunMount& m, const MountValueExpander& expand) {
  if (m.type.find('$') != std::string::npos && !expand) return;  // checked once expanded
  for (std::string_view t : MountTypes())
    if (t == m.type) return;
  std::string msg = "unsupported mount type \"" + m.type + "\"";
  if (auto s = Suggest(m.type, Strings(MountTypes()))) msg += " (did you mean " + *s + "?)";
  throw std::invalid_argument(msg + " (use " + Join(MountTypes(), " or ") + ")");
}

std::string ParseSharing(const std::string& value) {
  std::string sharing = Lower(value);
  for (std::string_view s : kSharingModes)
    if (s == sharing) return sharing;
  std::string msg = "unsupported sharing value \"" + value + "\"";
  if (auto s = Suggest(sharing, Strings(kSharingModes))) msg += " (did you mean " + *s + "?)";
  throw std::invalid_argument(msg + " (use " + Join(kSharingModes, " or ") + ")");
}

// One option into its field of `m`, once its type allows it.
void ApplyMountOption(RunMount& m, const std::string& key, const std::string& value, const MountValueExpander& expand) {
  const MountOptionSpec& option = SpecOf(key);
  if (!Allowed(option, m.type))
    throw std::invalid_argument("option '" + key + "' is not allowed for type=" + m.type + " mounts (it is for " +
                                Join(option.types, " and ") + ")");
  if (key == "from") {
    if (value.find('$') != std::string::npos)
      throw std::invalid_argument("'from' doesn't support variable expansion, define alias stage instead");
    m.from = value;
    return;
  }
  if (!expand && value.find('$') != std::string::npos) return;  // checked once the builder has expanded it
  if (key == "source") m.source = value;
  if (key == "target") m.target = value;
  if (key == "id") m.id = value;
  if (key == "env") m.env = value;
  if (key == "ro") m.read_only = ParseBool(key, value);
  if (key == "rw") m.read_only = !ParseBool(key, value);
  if (key == "required") m.required = ParseBool(key, value);
  if (key == "mode") m.mode = static_cast<uint32_t>(ParseUnsigned(key, value, 8, kMaxMode));
  if (key == "uid") m.uid = static_cast<uint32_t>(ParseUnsigned(key, value, 10, kMaxId));
  if (key == "gid") m.gid = static_cast<uint32_t>(ParseUnsigned(key, value, 10, kMaxId));
  if (key == "size") m.size = ParseSize(value);
  if (key == "sharing") m.sharing = ParseSharing(value);
}

// BuildKit's defaults and cross-option rules per type.
void ApplyTypeDefaults(RunMount& m) {
  if (m.type == kCache) {
    if (m.sharing.empty()) m.sharing = "shared";
    if (m.id.empty()) m.id = m.target;
  }
  if (m.type == kSecret) {
    if (m.options.count("source") && m.options.count("id")) throw std::invalid_argument("both source and id can't be set");
    if (!m.options.count("source") && !m.options.count("target") && !m.options.count("id"))
      throw std::invalid_argument("invalid secret mount: one of id, source or target is required");
    if (!m.source.empty()) m.id = m.source;
    if (m.id.empty() && !m.target.empty()) m.id = Basename(m.target);
  }
  if (m.type == kSsh && m.id.empty() && !m.options.count("id")) m.id = "default";
  if ((m.type == kSecret || m.type == kSsh) && !m.read_only)
    throw std::invalid_argument(m.type + " mounts are always read-only (remove rw)");
}

}  // namespace

RunMount ParseRunMount(std::string_view spec, const MountValueExpander& expand) {
  RunMount m = ReadMountFields(spec, expand);
  CheckMountType(m, expand);
  m.read_only = m.type != kCache && m.type != kTmpfs;
  for (const auto& [key, value] : m.options) ApplyMountOption(m, key, value, expand);
  if (m.options.count("ro") && m.options.count("rw")) throw std::invalid_argument("give either ro or rw, not both");
  ApplyTypeDefaults(m);
  return m;
}

}  // namespace bld::parser
