#include "store/platform.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "store/error.h"

namespace bld::store {

namespace {

// The OSes and architectures Go knows (go/build/syslist.go), as containerd
// lists them: one word that is neither is refused rather than guessed.
constexpr std::string_view kKnownOses[] = {"aix",   "android", "darwin",  "dragonfly", "freebsd", "hurd",
                                           "illumos", "ios",   "js",      "linux",     "nacl",    "netbsd",
                                           "openbsd", "plan9", "solaris", "windows",   "zos"};
constexpr std::string_view kKnownArchitectures[] = {
    "386",    "amd64",    "amd64p32",  "arm",         "armbe", "arm64", "arm64be", "ppc64",
    "ppc64le", "loong64", "mips",      "mipsle",      "mips64", "mips64le", "mips64p32", "mips64p32le",
    "ppc",    "riscv",    "riscv64",   "s390",        "s390x", "sparc", "sparc64", "wasm"};
// The lowest variant each architecture's fallback goes down to: arm/v5 is
// the oldest ARM an image is built for, amd64 (v1) the baseline x86-64.
constexpr int kLowestArmVariant = 5;
constexpr int kLowestAmd64Variant = 1;
// An arm64/v9.N machine also runs arm64/v8.(N+5): ARMv9.N includes ARMv8.(N+5).
constexpr int kArm64V9ToV8MinorOffset = 5;
// ARMv8 minor versions go up to v8.9.
constexpr int kHighestArm64V8Minor = 9;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Contains(const auto& list, std::string_view word) {
  return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

bool IsSpecifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// "7" of "v7", "8" and "1" of "v8.1"; nullopt for anything else.
struct VariantVersion {
  int major = 0;
  int minor = 0;
};
std::optional<VariantVersion> ParseVariant(std::string_view variant) {
  if (!variant.starts_with('v')) return std::nullopt;
  const char* p = variant.data() + 1;
  const char* end = variant.data() + variant.size();
  VariantVersion v;
  auto [after_major, ec] = std::from_chars(p, end, v.major);
  if (ec != std::errc()) return std::nullopt;
  if (after_major == end) return v;
  if (*after_major != '.') return std::nullopt;
  auto [after_minor, ec2] = std::from_chars(after_major + 1, end, v.minor);
  if (ec2 != std::errc() || after_minor != end) return std::nullopt;
  return v;
}

std::string ArchVariant(int major, int minor) {
  return "v" + std::to_string(major) + (minor == 0 ? "" : "." + std::to_string(minor));
}

Platform With(const Platform& base, std::string architecture, std::string variant) {
  Platform p = base;
  p.architecture = std::move(architecture);
  p.variant = std::move(variant);
  return NormalizePlatform(std::move(p));
}

void AddOlderAmd64(const Platform& wanted, std::vector<Platform>& out) {
  std::optional<VariantVersion> v = ParseVariant(wanted.variant.empty() ? "v1" : wanted.variant);
  if (v)
    for (int level = v->major - 1; level >= kLowestAmd64Variant; --level)
      out.push_back(With(wanted, "amd64", ArchVariant(level, 0)));
  out.push_back(With(wanted, "386", ""));
}

void AddOlderArm(const Platform& wanted, std::vector<Platform>& out) {
  std::optional<VariantVersion> v = ParseVariant(wanted.variant);
  if (!v || v->minor != 0) return;
  for (int level = v->major - 1; level >= kLowestArmVariant; --level)
    out.push_back(With(wanted, "arm", ArchVariant(level, 0)));
}

// arm64 replaces the whole list: its own variants newest first, then 32-bit
// arm from v8 down.
void AddArm64(const Platform& wanted, std::vector<Platform>& out) {
  std::optional<VariantVersion> v = ParseVariant(wanted.variant.empty() ? "v8" : wanted.variant);
  if (!v || (v->major != 8 && v->major != 9) || v->minor > kHighestArm64V8Minor) return;
  out.clear();
  int v8_minor = v->minor;
  if (v->major == 9) {
    for (int minor = v->minor; minor >= 0; --minor) out.push_back(With(wanted, "arm64", ArchVariant(9, minor)));
    v8_minor = std::min(v->minor + kArm64V9ToV8MinorOffset, kHighestArm64V8Minor);
  }
  for (int minor = v8_minor; minor >= 0; --minor) out.push_back(With(wanted, "arm64", ArchVariant(8, minor)));
  std::vector<Platform> arm = CompatiblePlatforms(With(wanted, "arm", "v8"));
  out.insert(out.end(), arm.begin(), arm.end());
}

[[noreturn]] void Invalid(std::string_view text, const std::string& why) {
  throw Error("invalid platform \"" + std::string(text) + "\": " + why +
              " (want os/arch[/variant], e.g. linux/arm64)");
}

std::vector<std::string_view> SplitParts(std::string_view text) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t slash = text.find('/');
    parts.push_back(text.substr(0, slash));
    if (slash == std::string_view::npos) return parts;
    text.remove_prefix(slash + 1);
  }
}

// "windows(10.0.17763)" -> os "windows", os.version "10.0.17763".
void ParseOsPart(std::string_view text, std::string_view part, Platform& p) {
  std::string_view os = part;
  if (size_t open = part.find('('); open != std::string_view::npos) {
    if (!part.ends_with(')')) Invalid(text, "the OS version must be in parentheses, as in windows(10.0.17763)");
    os = part.substr(0, open);
    p.os_version = std::string(part.substr(open + 1, part.size() - open - 2));
    if (!std::all_of(p.os_version.begin(), p.os_version.end(), IsSpecifierChar))
      Invalid(text, "the OS version may hold only letters, digits, '_', '.' and '-'");
  }
  if (os.empty() || !std::all_of(os.begin(), os.end(), [](char c) { return IsSpecifierChar(c) && c != '.'; }))
    Invalid(text, "the OS may hold only letters, digits, '_' and '-'");
  p.os = std::string(os);
}

}  // namespace

Platform NormalizePlatform(Platform p) {
  p.os = Lower(p.os);
  if (p.os == "macos") p.os = "darwin";
  std::string arch = Lower(p.architecture);
  std::string variant = Lower(p.variant);
  if (arch == "i386" || arch == "i686") {
    arch = "386";
    variant.clear();
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8" || variant == "v8.0") variant.clear();
    if (variant == "9" || variant == "9.0" || variant == "v9.0") variant = "v9";
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty() || variant == "7") variant = "v7";
    if (variant == "5" || variant == "6" || variant == "8") variant = "v" + variant;
  }
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

Platform ParsePlatform(std::string_view text) {
  std::vector<std::string_view> parts = SplitParts(text);
  if (parts.size() > 3) Invalid(text, "too many parts");
  for (std::string_view part : parts)
    if (part.empty()) Invalid(text, "empty part");
  Platform p;
  ParseOsPart(text, parts[0], p);
  for (size_t i = 1; i < parts.size(); ++i)
    if (!std::all_of(parts[i].begin(), parts[i].end(), IsSpecifierChar))
      Invalid(text, "a part may hold only letters, digits, '_', '.' and '-'");
  if (parts.size() == 1) {
    Platform host = HostPlatform();
    std::string word = NormalizePlatform(Platform{"", p.os, "", ""}).os;
    if (Contains(kKnownOses, word)) {
      host.os = word;
      host.os_version = p.os_version;
      return NormalizePlatform(host);
    }
    Platform arch = NormalizePlatform(Platform{std::string(parts[0]), host.os, "", ""});
    if (!p.os_version.empty() || !Contains(kKnownArchitectures, arch.architecture))
      Invalid(text, "not a known operating system or architecture");
    return arch;
  }
  p.architecture = std::string(parts[1]);
  if (parts.size() == 3) p.variant = std::string(parts[2]);
  return NormalizePlatform(std::move(p));
}

std::string FormatPlatform(const Platform& p) {
  std::string text = p.os + "/" + p.architecture;
  if (!p.variant.empty()) text += "/" + p.variant;
  return text;
}

Platform HostPlatform() {
  Platform p;
  p.os = "linux";
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
#elif defined(__arm__)
  p.architecture = "arm";
  p.variant = "v7";
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  p.architecture = "ppc64le";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#else
  // Any other port: what the kernel calls the machine.
  utsname u{};
  if (::uname(&u) == 0) p.architecture = u.machine;
#endif
  return NormalizePlatform(std::move(p));
}

std::vector<Platform> CompatiblePlatforms(const Platform& wanted) {
  Platform w = NormalizePlatform(wanted);
  std::vector<Platform> out = {w};
  if (w.architecture == "amd64") AddOlderAmd64(w, out);
  if (w.architecture == "arm") AddOlderArm(w, out);
  if (w.architecture == "arm64") AddArm64(w, out);
  return out;
}

std::optional<size_t> MatchRank(const Platform& wanted, const Platform& have) {
  Platform h = NormalizePlatform(have);
  std::vector<Platform> compatible = CompatiblePlatforms(wanted);
  for (size_t rank = 0; rank < compatible.size(); ++rank) {
    const Platform& c = compatible[rank];
    if (c.os == h.os && c.architecture == h.architecture && c.variant == h.variant) return rank;
  }
  return std::nullopt;
}

}  // namespace bld::store
