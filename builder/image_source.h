// The ImageSource bld builds with: images from the local store, pulled from
// their registry when they are not there (or always, with --pull).
//
// Stages that name the same image for the same platform share one pull, so
// a Dockerfile with three `FROM debian` stages downloads debian once. A
// build with --cache-from pulls without the layers: a fully cached build
// does not read them, and ContainerRuntime fetches them for a step that
// does.
//
// Thread-safety: Resolve may be called from several stage threads at once.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "builder/build_backend.h"
#include "registry/session.h"
#include "store/store.h"

namespace bld::builder {

class StoreImageSource : public ImageSource {
 public:
  // pull: pull every image again instead of using the local copy.
  // remote_layers: leave a pulled image's layers in the registry until a
  // step or the image written reads them (registry::PullOptions).
  StoreImageSource(store::Store& store, registry::RegistryOptions registry, bool pull, bool remote_layers = false)
      : store_(store), registry_(std::move(registry)), pull_(pull), remote_layers_(remote_layers) {}

  ResolvedImage Resolve(const std::string& name, const store::Platform& platform) override;

 private:
  store::Descriptor Pull(const std::string& name, const store::Platform& platform);

  store::Store& store_;
  registry::RegistryOptions registry_;
  bool pull_;
  bool remote_layers_;
  std::mutex mu_;
  std::map<std::string, store::Descriptor> pulled_;  // by "<ref> <platform>"
};

}  // namespace bld::builder
