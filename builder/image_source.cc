#include "builder/image_source.h"

#include <optional>

#include "registry/image_lookup.h"
#include "registry/puller.h"
#include "registry/reference.h"
#include "runner/snapshotter.h"
#include "store/error.h"
#include "store/image.h"
#include "store/platform.h"

namespace bld::builder {

namespace {

bool RunsAs(const store::ImageConfig& config, const store::Platform& wanted) {
  std::optional<store::Platform> have = store::ConfigPlatform(config);
  return !have || store::MatchRank(wanted, *have).has_value();
}

// A single-platform image used for another platform would make an image
// whose files are not what its platform says: refused, as BuildKit refuses
// a base with no manifest for the platform.
Error PlatformMismatch(const std::string& name, const store::ImageConfig& config, const store::Platform& wanted,
                       const std::string& why_not_pulled) {
  std::string w = store::FormatPlatform(wanted);
  return Error("image " + name + " is for " + store::FormatPlatform(*store::ConfigPlatform(config)) + ", not " + w + " (" + why_not_pulled +
               "): use an image for " + w + " (one made with `bld import --platform " + w +
               "`, or a multi-platform image that has one)");
}

}  // namespace

ResolvedImage StoreImageSource::Resolve(const std::string& name, const store::Platform& platform) {
  std::optional<store::Descriptor> desc;
  if (pull_) {
    desc = Pull(name, platform);
  } else if (desc = registry::FindLocalImage(store_, name); !desc) {
    try {
      desc = Pull(name, platform);
    } catch (const Error& e) {
      throw Error("image " + name + " is not in the local store (" + store_.root() + ") and pulling it failed: " +
                  e.what() + "; make it with `bld import`, `bld load` or `bld build -t " + name + "`");
    }
  }
  store::Image image = store::ReadImage(store_, *desc, platform);
  if (!RunsAs(image.config, platform)) {
    // The local image is another platform's: its registry may have this one.
    if (pull_) throw PlatformMismatch(name, image.config, platform, "as pulled");
    try {
      desc = Pull(name, platform);
    } catch (const Error& e) {
      throw PlatformMismatch(name, image.config, platform, std::string("pulling one failed: ") + e.what());
    }
    image = store::ReadImage(store_, *desc, platform);
    if (!RunsAs(image.config, platform)) throw PlatformMismatch(name, image.config, platform, "as pulled");
  }
  ResolvedImage r;
  r.state.config = image.config;
  r.state.layers = image.manifest.layers;
  r.manifest = image.manifest_descriptor.digest;
  r.shown = registry::CanonicalRefName(name) + "@" + image.manifest_descriptor.digest.str();
  return r;
}

store::Descriptor StoreImageSource::Pull(const std::string& name, const store::Platform& platform) {
  std::optional<registry::Reference> ref;
  try {
    ref = registry::Reference::ParseDockerRef(name);
  } catch (const Error&) {
    // Not a reference a registry can serve (an image ID prefix, say).
  }
  if (!ref) throw Error("it is not a name a registry serves");
  std::lock_guard lock(mu_);
  std::string key = ref->String() + " " + store::FormatPlatform(platform);
  if (auto it = pulled_.find(key); it != pulled_.end()) return it->second;
  registry::PullOptions pull;
  pull.registry = registry_;
  pull.platform = platform;
  pull.tag = platform == store::HostPlatform();
  // The base's layers are unpacked as they arrive: the first RUN finds them.
  runner::Snapshotter::PullUnpacks unpacks(store_);
  pull.unpack = &unpacks;
  pull.remote_layers = remote_layers_;
  store::Descriptor desc = registry::Pull(store_, *ref, pull);
  pulled_.emplace(key, desc);
  return desc;
}

}  // namespace bld::builder
