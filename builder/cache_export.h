// --cache-to: the records of this build's steps, written where other
// machines import them from (docs/cache-export.md).
//
// CacheRecorder sits in front of the build's StepCache and keeps every
// record the build took (a hit, local or imported) or made (an executed
// step), by key. Once the image is written:
//
//   - SelectRecords keeps what the spec's mode asks: mode=max all of them;
//     mode=min those whose image is a prefix of a final image (the steps
//     of the final image's stages; a build of several platforms has one
//     final image each);
//   - each record's layers are named by compressed blobs (WithLayerBlobs),
//     compressing from snapshots as the build's image writer does, fetching
//     imported layers only when the destination does not have them;
//   - ExportCache writes them as an OCI layout directory or pushes them to a
//     registry; InlineCacheRecords gives type=inline's label, whose layers
//     are the image's own.
//
// Thread-safety: CacheRecorder's methods may be called from several stage
// threads; the rest runs on one thread once the stages are done.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "builder/build_backend.h"
#include "builder/cache_format.h"
#include "builder/cache_import.h"
#include "builder/cache_spec.h"
#include "builder/layer_blobs.h"
#include "registry/session.h"
#include "store/store.h"

namespace bld::builder {

class CacheRecorder : public StepCache {
 public:
  explicit CacheRecorder(StepCache& inner) : inner_(inner) {}

  std::optional<ImageState> Get(const std::string& key) const override;
  void Put(const std::string& key, const ImageState& state) override;
  std::optional<StepInputs> LastInputs(const std::string& identity) const override {
    return inner_.LastInputs(identity);
  }
  void RememberInputs(const std::string& identity, const StepInputs& inputs) override {
    inner_.RememberInputs(identity, inputs);
  }

  // Every record the build took or made.
  CacheRecords Taken() const;

 private:
  StepCache& inner_;
  mutable std::mutex mu_;
  mutable CacheRecords taken_;
};

// The records `mode` exports from `all`, for the final images `images`.
CacheRecords SelectRecords(const CacheRecords& all, const std::vector<ImageState>& images, CacheMode mode);

// type=inline: the min records of `image` with the layers of the image as
// written (`written_layers`, its blobs), for the label kInlineCacheLabel.
std::string InlineCacheRecords(const CacheRecords& all, const ImageState& image,
                               const std::vector<store::Descriptor>& written_layers);

// What an export needs besides its spec and records.
struct CacheExportEnv {
  store::Store& store;
  const registry::RegistryOptions& registry;
  // Writes blobs from snapshots in the compression the spec asks for.
  LayerBlobs& blobs;
  // The imports, to fetch (or leave in their repository) the layers of
  // imported hits; null without --cache-from.
  ImportedCache* imported;
};

// Writes `records` as `spec` (type=registry or type=local) says. Throws
// bld::Error naming the spec when it fails.
void ExportCache(const CacheExportEnv& env, const CacheSpec& spec, const CacheRecords& records);

}  // namespace bld::builder
