#include "registry/platform.h"


#include <cctype>
#include <charconv>
#include <climits>
#include <vector>

#include "store/error.h"
#include "store/image.h"

namespace bld::registry {

namespace {

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsKnownOs(std::string_view os) {
  for (std::string_view known : {"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos",
                                 "aix", "plan9", "android", "ios", "js", "wasip1", "dragonfly"})
    if (os == known) return true;
  return false;
}

// "v7" -> 7; nullopt for variants that are not a plain level ("v8.1").
std::optional<int> VariantLevel(std::string_view variant) {
  if (!variant.starts_with('v')) return std::nullopt;
  int level = 0;
  auto [end, ec] = std::from_chars(variant.data() + 1, variant.data() + variant.size(), level);
  if (ec != std::errc() || end != variant.data() + variant.size()) return std::nullopt;
  return level;
}

// How far `have` is from `wanted` (0: the same), or nullopt when an image for
// `have` cannot run on `wanted`. Both are normalized and share os and arch.
std::optional<int> VariantDistance(const store::Platform& wanted, const store::Platform& have) {
  if (wanted.variant == have.variant) return 0;
  // amd64's default level v1 is normalized to no variant.
  auto level = [&](const std::string& variant) -> std::optional<int> {
    if (variant.empty() && wanted.architecture == "amd64") return 1;
    return VariantLevel(variant);
  };
  if (wanted.architecture != "arm" && wanted.architecture != "amd64") return std::nullopt;
  std::optional<int> want = level(wanted.variant);
  std::optional<int> got = level(have.variant);
  if (!want || !got || *got > *want) return std::nullopt;
  return *want - *got;
}

}  // namespace

store::Platform NormalizePlatform(store::Platform p) {
  p.os = ToLower(p.os);
  if (p.os == "macos") p.os = "darwin";
  std::string arch = ToLower(p.architecture);
  std::string variant = ToLower(p.variant);
  if (arch == "i386") {
    arch = "386";
    variant.clear();
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8") variant.clear();
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty()) variant = "v7";
    if (variant.size() == 1 && variant[0] >= '5' && variant[0] <= '8') variant = "v" + variant;
  }
  p.architecture = arch;
  p.variant = variant;
  return p;
}

store::Platform ParsePlatform(std::string_view text) {
  std::vector<std::string> parts;
  std::string_view rest = text;
  for (;;) {
    size_t slash = rest.find('/');
    parts.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  auto invalid = [&](const std::string& why) {
    return Error("invalid platform \"" + std::string(text) + "\": " + why + " (want os/arch[/variant], e.g. linux/arm64)");
  };
  if (parts.size() > 3) throw invalid("too many parts");
  for (const std::string& part : parts)
    if (part.empty()) throw invalid("empty part");
  store::Platform p;
  if (parts.size() == 1) {
    // One word is an OS (on this architecture) or an architecture (on linux).
    std::string word = ToLower(parts[0]);
    if (IsKnownOs(word)) {
      p = NormalizePlatform(store::HostPlatform());
      p.os = word;
    } else {
      p.os = "linux";
      p.architecture = word;
    }
  } else {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  }
  return NormalizePlatform(std::move(p));
}

std::string FormatPlatform(const store::Platform& p) {
  std::string text = p.os + "/" + p.architecture;
  if (!p.variant.empty()) text += "/" + p.variant;
  return text;
}

std::optional<store::Descriptor> SelectManifest(const store::ImageIndex& index, const store::Platform& wanted) {
  store::Platform want = NormalizePlatform(wanted);
  std::optional<store::Descriptor> best;
  int best_distance = INT_MAX;
  for (const store::Descriptor& d : index.manifests) {
    if (!d.platform) continue;
    store::Platform have = NormalizePlatform(*d.platform);
    if (have.os != want.os || have.architecture != want.architecture) continue;
    std::optional<int> distance = VariantDistance(want, have);
    if (distance && *distance < best_distance) {
      best = d;
      best_distance = *distance;
    }
  }
  return best;
}

}  // namespace bld::registry
