#include "support/test_images.h"

#include "registry/image_lookup.h"
#include "store/image.h"
#include "store/layer_writer.h"
#include "support/busybox.h"
#include "support/process.h"

namespace bld::testing {

store::Descriptor MakeBusyboxImage(store::Store& store, const std::string& name) {
  TempDir rootfs;
  MakeBusyboxRootfs(rootfs.path());
  store::LayerInfo layer = store::StoreLayer(store, [&](const store::ByteSink& sink) {
    return store::WriteLayerFromDirectory(rootfs.path(), {}, sink);
  });
  store::ImageConfig config;
  config.architecture = store::HostPlatform().architecture;
  config.os = "linux";
  config.created = "2026-01-01T00:00:00Z";
  config.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  config.config.cmd = {"sh"};
  config.rootfs.diff_ids = {layer.diff_id};
  config.history.push_back({"2026-01-01T00:00:00Z", "busybox from Debian's busybox-static", "", "", false});
  store::Descriptor manifest = store::WriteImage(store, config, {store::LayerDescriptor(layer)});
  store.PutRef(registry::CanonicalRefName(name), manifest);
  return manifest;
}

}  // namespace bld::testing
