#include "support/registry_test_image.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

#include "support/process.h"

namespace bld::testing {

namespace {

using nlohmann::ordered_json;

constexpr size_t kTarBlock = 512;
// Layers compress fast rather than small: tests push tens of MiB of random
// data, which no level makes smaller.
constexpr int kGzipLevel = Z_BEST_SPEED;
// gzip framing for deflateInit2: 15-bit window plus 16.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kZlibMemLevel = 8;
constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";

void PutOctal(char* field, size_t width, uint64_t value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
}

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

TestBlob Blob(std::string media_type, std::string data) {
  std::string digest = Sha256Digest(data);
  return {std::move(digest), std::move(media_type), std::move(data)};
}

ordered_json DescriptorJson(const TestBlob& b) {
  return {{"mediaType", b.media_type}, {"digest", b.digest}, {"size", b.data.size()}};
}

void WriteBlob(const std::string& dir, const TestBlob& b) {
  std::string path = dir + "/blobs/sha256/" + b.digest.substr(7);
  if (!std::filesystem::exists(path)) WriteFile(path, b.data);
}

void AddToIndex(const std::string& dir, const std::string& tag, const TestBlob& root) {
  WriteFile(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  std::string index_path = dir + "/index.json";
  ordered_json index = {{"schemaVersion", 2}, {"manifests", ordered_json::array()}};
  if (std::filesystem::exists(index_path)) index = ordered_json::parse(ReadFile(index_path));
  ordered_json entry = DescriptorJson(root);
  entry["annotations"] = {{kRefNameAnnotation, tag}};
  index["manifests"].push_back(entry);
  WriteFile(index_path, index.dump());
}

}  // namespace

std::string Sha256Digest(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed");
  return "sha256:" + Hex(out, len);
}

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  for (; i < size; ++i) out[i] = static_cast<char>(rng());
  return out;
}

std::string MakeTar(const std::vector<TestFile>& files) {
  std::string tar;
  for (const TestFile& f : files) {
    if (f.path.size() >= 100) throw std::runtime_error("test tar names must be under 100 bytes: " + f.path);
    char header[kTarBlock] = {};
    std::memcpy(header, f.path.data(), f.path.size());
    PutOctal(header + 100, 8, 0644);
    PutOctal(header + 108, 8, 0);
    PutOctal(header + 116, 8, 0);
    PutOctal(header + 124, 12, f.content.size());
    PutOctal(header + 136, 12, 0);
    header[156] = '0';
    std::memcpy(header + 257, "ustar", 6);
    std::memcpy(header + 263, "00", 2);
    std::memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : header) sum += c;
    std::snprintf(header + 148, 8, "%06o", sum);
    tar.append(header, kTarBlock);
    tar += f.content;
    tar.append((kTarBlock - f.content.size() % kTarBlock) % kTarBlock, '\0');
  }
  tar.append(2 * kTarBlock, '\0');
  return tar;
}

std::string Gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, kGzipLevel, Z_DEFLATED, kGzipWindowBits, kZlibMemLevel, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

TestImage BuildTestImage(const TestImageSpec& spec) {
  TestImage image;
  std::string layer_type =
      spec.gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar";
  ordered_json diff_ids = ordered_json::array();
  ordered_json history = ordered_json::array();
  for (const std::vector<TestFile>& files : spec.layers) {
    std::string tar = MakeTar(files);
    image.diff_ids.push_back(Sha256Digest(tar));
    diff_ids.push_back(image.diff_ids.back());
    history.push_back({{"created", "2024-01-01T00:00:00Z"}, {"created_by", "test layer"}});
    image.layers.push_back(Blob(layer_type, spec.gzip ? Gzip(tar) : std::move(tar)));
  }
  ordered_json config = {{"created", "2024-01-01T00:00:00Z"}, {"architecture", spec.architecture}, {"os", spec.os}};
  if (!spec.variant.empty()) config["variant"] = spec.variant;
  config["config"] = {{"Cmd", {"/bin/sh"}}};
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  config["history"] = history;
  image.config = Blob("application/vnd.oci.image.config.v1+json", config.dump());
  std::string manifest_type = "application/vnd.oci.image.manifest.v1+json";
  ordered_json manifest = {{"schemaVersion", 2}};
  if (!spec.omit_manifest_media_type) manifest["mediaType"] = manifest_type;
  manifest["config"] = DescriptorJson(image.config);
  manifest["layers"] = ordered_json::array();
  for (const TestBlob& l : image.layers) manifest["layers"].push_back(DescriptorJson(l));
  image.manifest = Blob(manifest_type, manifest.dump());
  return image;
}

TestIndex BuildTestIndex(const std::vector<TestImageSpec>& specs) {
  TestIndex index;
  ordered_json doc = {{"schemaVersion", 2},
                      {"mediaType", "application/vnd.oci.image.index.v1+json"},
                      {"manifests", ordered_json::array()}};
  for (const TestImageSpec& spec : specs) {
    index.images.push_back(BuildTestImage(spec));
    ordered_json entry = DescriptorJson(index.images.back().manifest);
    entry["platform"] = {{"architecture", spec.architecture}, {"os", spec.os}};
    if (!spec.variant.empty()) entry["platform"]["variant"] = spec.variant;
    doc["manifests"].push_back(entry);
  }
  index.index = Blob("application/vnd.oci.image.index.v1+json", doc.dump());
  return index;
}

void WriteOciLayout(const std::string& dir, const std::string& tag, const TestImage& image) {
  WriteBlob(dir, image.config);
  for (const TestBlob& l : image.layers) WriteBlob(dir, l);
  WriteBlob(dir, image.manifest);
  AddToIndex(dir, tag, image.manifest);
}

void WriteOciLayout(const std::string& dir, const std::string& tag, const TestIndex& index) {
  for (const TestImage& image : index.images) {
    WriteBlob(dir, image.config);
    for (const TestBlob& l : image.layers) WriteBlob(dir, l);
    WriteBlob(dir, image.manifest);
  }
  WriteBlob(dir, index.index);
  AddToIndex(dir, tag, index.index);
}

}  // namespace bld::testing
