#include "store/store_check.h"

#include <sys/stat.h>

#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "store/error.h"
#include "store/image.h"
#include "store/lazy_layer.h"
#include "store/oci.h"

namespace bld::store {

namespace {

constexpr std::string_view kSha256Prefix = "sha256:";

struct IndexRecords {
  std::map<std::string, std::string> refs;
  std::vector<std::pair<std::string, std::string>> blobs;  // the store's own records only
  std::set<std::pair<std::string, std::string>> diff_ids;  // (diffID, blob)
  std::map<std::string, std::string> blob_diff_ids;        // blob -> diffID
  std::vector<std::string> snapshots;
};

IndexRecords ReadIndex(const Store& store) {
  IndexRecords r;
  store.meta().Read([&](const ReadTxn& txn) {
    txn.Scan(Table::kRefs, "", [&](std::string_view k, std::string_view v) { r.refs.emplace(k, v); });
    // Other keys of table blobs are hints of other modules (blob sources).
    txn.Scan(Table::kBlobs, kSha256Prefix, [&](std::string_view k, std::string_view v) { r.blobs.emplace_back(k, v); });
    txn.Scan(Table::kDiffIds, "", [&](std::string_view k, std::string_view) {
      size_t slash = k.find('/');
      r.diff_ids.emplace(std::string(k.substr(0, slash)),
                         slash == std::string_view::npos ? "" : std::string(k.substr(slash + 1)));
    });
    txn.Scan(Table::kBlobDiffIds, "", [&](std::string_view k, std::string_view v) { r.blob_diff_ids.emplace(k, v); });
    txn.Scan(Table::kSnapshots, "", [&](std::string_view k, std::string_view) { r.snapshots.emplace_back(k); });
  });
  return r;
}

class Checker {
 public:
  explicit Checker(const Store& store) : store_(store) {}

  CheckReport Run() {
    CheckBlobs();
    IndexRecords index = ReadIndex(store_);
    CheckRefs(index);
    CheckBlobRecords(index);
    CheckDiffIdRecords(index);
    CheckSnapshotRecords(index);
    report_.ingest_leftovers = store_.blobs().ListIngestLeftovers();
    return std::move(report_);
  }

 private:
  void Problem(std::string line) { report_.problems.push_back(std::move(line)); }

  // The blob named by `text`, if it is a digest and the blob is present;
  // reports a problem naming `what` otherwise.
  bool BlobPresent(std::string_view text, const std::string& what) {
    if (!Digest::Valid(text)) {
      Problem(what + ": \"" + std::string(text) + "\" is not a sha256 digest");
      return false;
    }
    if (!store_.blobs().Exists(Digest::Parse(text))) {
      Problem(what + ": blob " + std::string(text) + " is not in the store");
      return false;
    }
    return true;
  }

  void CheckBlobs() {
    for (const Digest& d : store_.blobs().List()) {
      ++report_.blobs;
      try {
        if (!store_.blobs().Verify(d))
          Problem("blob " + d.str() + ": its content does not match its digest (corrupted or modified on disk)");
      } catch (const Error& e) {
        Problem("blob " + d.str() + ": cannot be read: " + e.what());
      }
    }
  }

  void CheckRefs(const IndexRecords& index) {
    for (const auto& [name, record] : index.refs) {
      ++report_.refs;
      std::string what = "ref " + name;
      try {
        Descriptor top = ParseDescriptor(record, "of ref " + name);
        std::vector<Descriptor> closure = store_.Closure(top);
        bool complete = true;
        for (const Descriptor& d : closure) {
          std::optional<uint64_t> size = store_.blobs().Size(d.digest);
          if (!size && IsLazyLayer(d)) continue;  // its snapshot is checked with its manifest
          if (!size && store_.RemoteBlobRecord(d.digest)) continue;  // a remote layer, fetched when read
          if (!size) {
            Problem(what + ": blob " + d.digest.str() + " (" + d.media_type + ") is not in the store");
            complete = false;
          } else if (*size != static_cast<uint64_t>(d.size)) {
            Problem(what + ": blob " + d.digest.str() + " is " + std::to_string(*size) +
                    " bytes, but its descriptor says " + std::to_string(d.size));
            complete = false;
          }
        }
        if (!complete) continue;
        for (const Descriptor& d : closure)
          if (IsManifestMediaType(d.media_type)) CheckImageLayers(what, d);
      } catch (const Error& e) {
        Problem(what + ": " + e.what());
      }
    }
  }

  // An image's layers against the diffIDs the index knows for their blobs.
  void CheckImageLayers(const std::string& what, const Descriptor& manifest_descriptor) {
    ImageManifest manifest = ParseImageManifest(store_.blobs().ReadAll(manifest_descriptor.digest, kMaxManifestSize),
                                                manifest_descriptor.digest);
    // Artifacts (signatures, attestations) share the manifest format but
    // have no image config and no diffIDs.
    if (manifest.config.media_type != media_type::kOciConfig && manifest.config.media_type != media_type::kDockerConfig)
      return;
    ImageConfig config =
        ParseImageConfig(store_.blobs().ReadAll(manifest.config.digest, kMaxConfigSize), manifest.config.digest);
    if (config.rootfs.diff_ids.size() != manifest.layers.size()) {
      Problem(what + ": manifest " + manifest_descriptor.digest.str() + " has " +
              std::to_string(manifest.layers.size()) + " layers but its config lists " +
              std::to_string(config.rootfs.diff_ids.size()) + " diffIDs");
      return;
    }
    if (std::optional<std::string> missing = MissingLazyLayer(store_, manifest, config))
      Problem(what + ": manifest " + manifest_descriptor.digest.str() + ": " + *missing);
    for (size_t i = 0; i < manifest.layers.size(); ++i) {
      std::optional<Digest> known = store_.DiffIdOf(manifest.layers[i].digest);
      if (known && *known != config.rootfs.diff_ids[i])
        Problem(what + ": layer " + manifest.layers[i].digest.str() + " is recorded as the layer " + known->str() +
                ", but the image config lists " + config.rootfs.diff_ids[i].str());
    }
  }

  void CheckBlobRecords(const IndexRecords& index) {
    for (const auto& [key, record] : index.blobs) {
      ++report_.records;
      std::string what = "blob record " + key;
      if (!BlobPresent(key, what)) continue;
      try {
        Descriptor d = ParseDescriptor(record, "of blob record " + key);
        std::optional<uint64_t> size = store_.blobs().Size(Digest::Parse(key));
        if (size && *size != static_cast<uint64_t>(d.size))
          Problem(what + ": records " + std::to_string(d.size) + " bytes, but the blob is " + std::to_string(*size));
      } catch (const Error& e) {
        Problem(what + ": " + e.what());
      }
    }
  }

  void CheckDiffIdRecords(const IndexRecords& index) {
    for (const auto& [diff_id, blob] : index.diff_ids) {
      ++report_.records;
      std::string what = "diffID record " + diff_id + "/" + blob;
      if (!BlobPresent(blob, what)) continue;
      auto other = index.blob_diff_ids.find(blob);
      if (other == index.blob_diff_ids.end() || other->second != diff_id)
        Problem(what + ": table blob_diffids does not record the same diffID for the blob");
    }
    for (const auto& [blob, diff_id] : index.blob_diff_ids) {
      ++report_.records;
      std::string what = "blob diffID record " + blob;
      if (!BlobPresent(blob, what)) continue;
      if (!index.diff_ids.count({diff_id, blob}))
        Problem(what + ": table diffids has no record " + diff_id + "/" + blob);
    }
  }

  void CheckSnapshotRecords(const IndexRecords& index) {
    for (const std::string& chain_id : index.snapshots) {
      ++report_.records;
      std::string what = "snapshot record " + chain_id;
      if (!Digest::Valid(chain_id)) {
        Problem(what + ": the key is not a chain ID");
        continue;
      }
      std::string dir = store_.snapshots_dir() + "/" + std::string(Digest::Parse(chain_id).hex());
      struct stat st;
      if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        Problem(what + ": its directory " + dir + " is missing");
    }
  }

  const Store& store_;
  CheckReport report_;
};

}  // namespace

CheckReport CheckStore(const Store& store) { return Checker(store).Run(); }

}  // namespace bld::store
