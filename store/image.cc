#include "store/image.h"

#include <cstdio>
#include <ctime>

#include "store/error.h"

namespace bld::store {

namespace {

constexpr std::string_view kUntaggedRefPrefix = "<none>@";
constexpr int64_t kNanosPerSecond = 1'000'000'000;

}  // namespace

std::optional<Descriptor> SelectManifest(const ImageIndex& index, const Platform& wanted) {
  std::optional<Descriptor> best;
  size_t best_rank = 0;
  for (const Descriptor& d : index.manifests) {
    if (!d.platform) continue;
    std::optional<size_t> rank = MatchRank(wanted, *d.platform);
    if (rank && (!best || *rank < best_rank)) {
      best = d;
      best_rank = *rank;
    }
  }
  return best;
}

Image ReadImage(const Store& store, const Descriptor& descriptor, const Platform& platform) {
  Descriptor d = descriptor;
  if (IsIndexMediaType(d.media_type)) {
    ImageIndex index = ParseImageIndex(store.blobs().ReadAll(d.digest, kMaxIndexSize), d.digest);
    std::optional<Descriptor> chosen = SelectManifest(index, platform);
    if (!chosen) throw Error("image index " + d.digest.str() + " has no manifest for " + FormatPlatform(platform));
    d = *chosen;
  }
  Image image;
  image.manifest_descriptor = d;
  image.manifest = ParseImageManifest(store.blobs().ReadAll(d.digest, kMaxManifestSize), d.digest);
  image.config = ParseImageConfig(store.blobs().ReadAll(image.manifest.config.digest, kMaxConfigSize),
                                  image.manifest.config.digest);
  if (image.config.rootfs.diff_ids.size() != image.manifest.layers.size())
    throw Error("image " + d.digest.str() + " is inconsistent: its config lists " +
                std::to_string(image.config.rootfs.diff_ids.size()) + " layers, its manifest " +
                std::to_string(image.manifest.layers.size()));
  return image;
}

Descriptor WriteImage(Store& store, const ImageConfig& config, const std::vector<Descriptor>& layers, bool oci,
                      Digest* config_digest) {
  BlobInfo config_blob = store.blobs().Put(Serialize(config));
  if (config_digest) *config_digest = config_blob.digest;
  return WriteManifest(store, config_blob, layers, oci);
}

Descriptor WriteManifest(Store& store, const BlobInfo& config, const std::vector<Descriptor>& layers, bool oci) {
  ImageManifest m;
  m.media_type = std::string(oci ? media_type::kOciManifest : media_type::kDockerManifest);
  m.config.media_type = std::string(oci ? media_type::kOciConfig : media_type::kDockerConfig);
  m.config.digest = config.digest;
  m.config.size = static_cast<int64_t>(config.size);
  for (Descriptor d : layers) {
    if (!oci) {
      if (d.media_type == media_type::kOciLayerZstd)
        throw Error("Docker schema 2 manifests cannot hold zstd layers: use the OCI format or gzip compression");
      d.media_type = std::string(d.media_type == media_type::kOciLayer ? "application/vnd.docker.image.rootfs.diff.tar"
                                                                       : media_type::kDockerLayerGzip);
    }
    m.layers.push_back(d);
  }
  std::string manifest_json = Serialize(m);
  BlobInfo manifest_blob = store.blobs().Put(manifest_json);
  Descriptor desc;
  desc.media_type = m.media_type;
  desc.digest = manifest_blob.digest;
  desc.size = static_cast<int64_t>(manifest_json.size());
  store.RecordBlob(m.config);
  store.RecordBlob(desc);
  return desc;
}

std::string UntaggedRefName(const Digest& manifest) { return std::string(kUntaggedRefPrefix) + manifest.str(); }

bool IsUntaggedRefName(std::string_view name) { return name.starts_with(kUntaggedRefPrefix); }

std::string FormatTimestamp(std::chrono::system_clock::time_point time) {
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  auto secs = static_cast<time_t>(ns / kNanosPerSecond);
  int64_t frac = ns % kNanosPerSecond;
  if (frac < 0) {
    secs -= 1;
    frac += kNanosPerSecond;
  }
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string out(buf, n);
  if (frac != 0) {
    std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(frac));
    std::string fraction = buf;
    while (fraction.back() == '0') fraction.pop_back();
    out += fraction;
  }
  return out + "Z";
}

std::optional<std::chrono::system_clock::time_point> ParseTimestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); 't' and 'z' as RFC 3339 allows.
  size_t pos = 0;
  auto number = [&](size_t digits, int& out) {
    if (pos + digits > text.size()) return false;
    out = 0;
    for (size_t i = 0; i < digits; ++i) {
      char c = text[pos + i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    pos += digits;
    return true;
  };
  auto literal = [&](std::string_view chars) {
    if (pos >= text.size() || chars.find(text[pos]) == std::string_view::npos) return false;
    ++pos;
    return true;
  };
  tm t{};
  int year, month, day, hour, minute, second;
  if (!number(4, year) || !literal("-") || !number(2, month) || !literal("-") || !number(2, day) ||
      !literal("Tt") || !number(2, hour) || !literal(":") || !number(2, minute) || !literal(":") ||
      !number(2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = kNanosPerSecond;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      // Digits past the ninth are below what a time_point holds.
      if (scale > 1) {
        scale /= 10;
        nanos += (text[pos] - '0') * scale;
      }
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset_seconds = 0;
  if (literal("Zz")) {
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!number(2, oh) || !literal(":") || !number(2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = minute;
  t.tm_sec = second;
  auto seconds = std::chrono::seconds(static_cast<int64_t>(timegm(&t)) - offset_seconds);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(seconds + std::chrono::nanoseconds(nanos)));
}

LayerInfo StoreLayer(Store& store, const std::function<LayerInfo(const ByteSink&)>& write) {
  BlobWriter writer = store.blobs().NewWriter();
  LayerInfo info = write([&](const void* data, size_t size) { writer.Write(data, size); });
  writer.Commit(info.digest);
  store.RecordBlob(LayerDescriptor(info));
  store.RecordDiffId(info.diff_id, info.digest);
  return info;
}

Descriptor LayerDescriptor(const LayerInfo& layer) {
  Descriptor d;
  d.media_type = layer.media_type;
  d.digest = layer.digest;
  d.size = static_cast<int64_t>(layer.compressed_size);
  return d;
}

}  // namespace bld::store
