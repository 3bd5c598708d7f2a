// One bld store: a root directory laid out as docs/design.md describes, the blobs
// in it and the LMDB index over them, and the operations that span both.
//
//   <root>/blobs/sha256/<hex>   BlobStore
//   <root>/ingest/              BlobStore's partial writes
//   <root>/meta/                MetaStore (LMDB)
//   <root>/snapshots/ containers/ volumes/ cache-mounts/   created here, owned by runner/
//   <root>/tmp/                            created here, builds' scratch
//
// The invariant this class keeps: a ref is written only after every blob its
// manifest reaches is present, or is a lazy layer whose snapshot is
// (lazy_layer.h), or is a layer recorded as remote (RecordRemoteBlob), so a
// ref never names an image that cannot be run, or pushed once its lazy
// layers are written and its remote ones fetched. Blob I/O and JSON parsing
// happen before the short write transaction that records a ref, never inside
// it. The record formats are in docs/store-format.md.
//
// The root is created with mode 0700: snapshots hold unpacked images, whose
// setuid binaries other users must not reach.
//
// Thread safety: all methods may be called from any number of threads, and
// any number of processes may open the same root.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/blob_store.h"
#include "store/digest.h"
#include "store/meta_store.h"
#include "store/oci.h"

namespace bld::store {

class Store {
 public:
  static constexpr std::string_view kDefaultRoot = "/var/lib/bld";
  static constexpr std::string_view kRootEnvVar = "BLD_ROOT";

  struct Options {
    MetaStore::Options meta;
  };

  // The root to use: `root_flag` (--root) if not empty, else $BLD_ROOT if set
  // and not empty, else /var/lib/bld; made absolute, since overlay mounts and
  // error messages need absolute paths.
  static std::string ResolveRoot(std::string_view root_flag);
  // Opens the store at `root`, creating its layout if missing.
  static std::unique_ptr<Store> Open(const std::string& root, const Options& options = {});

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& root() const { return root_; }
  BlobStore& blobs() { return blobs_; }
  const BlobStore& blobs() const { return blobs_; }
  MetaStore& meta() { return meta_; }
  const MetaStore& meta() const { return meta_; }
  std::string snapshots_dir() const { return root_ + "/snapshots"; }
  std::string containers_dir() const { return root_ + "/containers"; }
  std::string volumes_dir() const { return root_ + "/volumes"; }
  // RUN --mount=type=cache directories (runner/cache_mounts.h).
  std::string cache_mounts_dir() const { return root_ + "/cache-mounts"; }
  // Builds' scratch space (a context read from stdin, ADD downloads).
  std::string tmp_dir() const { return root_ + "/tmp"; }

  // Every descriptor reachable from `manifest` (an image manifest or index):
  // itself, child manifests, configs and layers, each once, each manifest
  // before what it references. Manifests and indexes are read from the store;
  // throws if one of them is missing. Leaves are not checked, but `check`,
  // when given, sees every descriptor before it is read and may throw.
  std::vector<Descriptor> Closure(const Descriptor& manifest,
                                  const std::function<void(const Descriptor&)>& check = nullptr) const;

  // Points `name` at `manifest`, after checking that every blob of its closure
  // is present with the size its descriptor says, or is a lazy layer whose
  // snapshot is (lazy_layer.h), or a remote layer; refuses (throws, writing
  // nothing) otherwise.
  void PutRef(std::string_view name, const Descriptor& manifest);
  // Points every ref that points at `from` at `to` instead, in one
  // transaction (the untagged ref of `from` becomes that of `to`), after
  // checking `to` as PutRef does: a lazy image completed (same config).
  void ReplaceImage(const Descriptor& from, const Descriptor& to);
  std::optional<Descriptor> GetRef(std::string_view name) const;
  // All refs by name.
  std::map<std::string, Descriptor> ListRefs() const;
  // Returns false if there was no such ref. Blobs stay until a prune.
  bool DeleteRef(std::string_view name);

  // Remembers a blob's media type and size (the descriptor it arrived with).
  void RecordBlob(const Descriptor& blob);
  std::optional<Descriptor> BlobRecord(const Digest& digest) const;

  // Records that `blob` is a compressed (or plain) form of the layer whose
  // uncompressed tar has digest `diff_id`, in both directions.
  void RecordDiffId(const Digest& diff_id, const Digest& blob);
  // The blobs known to hold the layer `diff_id` (gzip, zstd, ...), sorted.
  std::vector<Digest> BlobsWithDiffId(const Digest& diff_id) const;
  std::optional<Digest> DiffIdOf(const Digest& blob) const;

  // Remote layers: an image may name layers a registry holds without the
  // store downloading them (a base a --cache-from build pulled, layers a
  // push-only build left at its cache's registry; docs/store-format.md,
  // "Remote layers"). Records that the layer blob
  // `blob`, which holds the layer `diff_id`, may be absent from an image the
  // store names; where it is, registry/blob_sources.h records.
  struct RemoteBlob {
    Descriptor blob;
    Digest diff_id;
  };
  void RecordRemoteBlob(const Descriptor& blob, const Digest& diff_id);
  // The record of `blob` if it was recorded as a remote layer.
  std::optional<RemoteBlob> RemoteBlobRecord(const Digest& blob) const;

 private:
  Store(std::string root, const Options& options);
  void WriteIfChanged(Table table, std::string_view key, const std::string& value);
  // Throws bld::Error starting with `what` unless `manifest` could be a ref.
  void CheckComplete(const Descriptor& manifest, const std::string& what) const;

  std::string root_;
  BlobStore blobs_;
  MetaStore meta_;
};

}  // namespace bld::store
