// OCI and Docker image formats: descriptors, manifests, indexes and image
// configs, as the OCI image spec v1.1 and Docker's image manifest v2 schema 2
// define them.
//
// Two directions, two rules. Content bld creates (a built image's config and
// manifest) is serialized by the Serialize functions here, deterministically:
// fields in the order of the Go structs of the specs, map keys sorted, empty
// optional fields omitted, compact, so the same build gives the same bytes and
// digests. Content bld pulls is stored as the registry sent it (its digest is
// the digest of those bytes) and only parsed here: unknown fields are ignored,
// never re-serialized. Every Parse function treats its input as hostile: it
// refuses input over a size limit before parsing, and a malformed document or a
// field of the wrong type is a bld::Error naming the document and the field
// ("invalid image config sha256:...: config.Env[1]: expected a string, got a
// number").
//
// The types are plain values; the functions keep no state and are safe to call
// from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "store/digest.h"
#include "store/platform.h"

namespace bld::store {

namespace media_type {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
// Schema 1 is deprecated and unsupported; named only to refuse it clearly.
inline constexpr std::string_view kDockerManifestSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_type

// An image manifest (OCI or Docker schema 2: the same shape).
bool IsManifestMediaType(std::string_view media_type);
// An image index or a Docker manifest list.
bool IsIndexMediaType(std::string_view media_type);

// Size limits for JSON read from outside; each Parse function refuses larger
// input before parsing, and readers (registry, blob store) should stop reading
// at the same limits rather than buffer more.
//
// 4 MiB is the manifest size the distribution spec asks registries to accept
// and the one the reference registry enforces on push: no manifest a registry
// serves can legitimately be larger. An index is a manifest to a registry.
inline constexpr size_t kMaxManifestSize = 4 << 20;
inline constexpr size_t kMaxIndexSize = kMaxManifestSize;
// Configs hold history and labels and stay in the tens of KiB in practice;
// 4 MiB is the limit containers/image (podman, buildah) enforces too.
inline constexpr size_t kMaxConfigSize = 4 << 20;

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;

  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

struct ImageManifest {
  // Absent in some OCI manifests (the descriptor that points at a manifest
  // carries its type); required by Docker schema 2.
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;

  friend bool operator==(const ImageManifest&, const ImageManifest&) = default;
};

struct ImageIndex {
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;

  friend bool operator==(const ImageIndex&, const ImageIndex&) = default;
};

// Docker's HEALTHCHECK; durations are nanoseconds, as Go's time.Duration.
struct HealthConfig {
  std::vector<std::string> test;
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int64_t retries = 0;

  friend bool operator==(const HealthConfig&, const HealthConfig&) = default;
};

// The "config" object of an image config: how a container of the image runs.
// Field names in JSON are Docker's capitalized ones (User, Env, ...).
struct ContainerConfig {
  std::string user;
  std::set<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> env;         // "KEY=value"
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::set<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  bool args_escaped = false;  // Windows only; kept so pulled configs read back the same
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> on_build;
  std::vector<std::string> shell;

  friend bool operator==(const ContainerConfig&, const ContainerConfig&) = default;
};

struct RootFs {
  std::string type = "layers";  // the only type the spec defines
  std::vector<Digest> diff_ids;

  friend bool operator==(const RootFs&, const RootFs&) = default;
};

struct HistoryEntry {
  std::string created;  // RFC 3339, as written
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;

  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

struct ImageConfig {
  std::string created;  // RFC 3339, as written; empty: absent
  std::string author;
  std::string architecture;
  std::string os;
  std::string os_version;
  std::string variant;
  ContainerConfig config;
  RootFs rootfs;
  std::vector<HistoryEntry> history;

  friend bool operator==(const ImageConfig&, const ImageConfig&) = default;
};

// Each Parse function names its document by `digest` in errors.
ImageManifest ParseImageManifest(std::string_view json, const Digest& digest);
ImageIndex ParseImageIndex(std::string_view json, const Digest& digest);
ImageConfig ParseImageConfig(std::string_view json, const Digest& digest);
// A lone descriptor (bld stores refs as descriptors); `what` names it in errors.
Descriptor ParseDescriptor(std::string_view json, std::string_view what);

std::string Serialize(const Descriptor& descriptor);
std::string Serialize(const ImageManifest& manifest);
std::string Serialize(const ImageIndex& index);
std::string Serialize(const ImageConfig& config);

}  // namespace bld::store
