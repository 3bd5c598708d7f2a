#include "support/registry_store_images.h"

#include <chrono>
#include <filesystem>

namespace bld::testing {

namespace {

store::Descriptor Descriptor(const TestBlob& blob) {
  store::Descriptor d;
  d.media_type = blob.media_type;
  d.digest = store::Digest::Parse(blob.digest);
  d.size = static_cast<int64_t>(blob.data.size());
  return d;
}

void PutImageBlobs(store::Store& store, const TestImage& image) {
  for (size_t i = 0; i < image.layers.size(); ++i) {
    store.blobs().Put(image.layers[i].data, store::Digest::Parse(image.layers[i].digest));
    store.RecordBlob(Descriptor(image.layers[i]));
    store.RecordDiffId(store::Digest::Parse(image.diff_ids[i]), store::Digest::Parse(image.layers[i].digest));
  }
  store.blobs().Put(image.config.data, store::Digest::Parse(image.config.digest));
  store.RecordBlob(Descriptor(image.config));
  store.blobs().Put(image.manifest.data, store::Digest::Parse(image.manifest.digest));
  store.RecordBlob(Descriptor(image.manifest));
}

}  // namespace

store::Descriptor PutInStore(store::Store& store, const std::string& ref, const TestImage& image) {
  PutImageBlobs(store, image);
  store::Descriptor root = Descriptor(image.manifest);
  store.PutRef(ref, root);
  return root;
}

store::Descriptor PutInStore(store::Store& store, const std::string& ref, const TestIndex& index) {
  for (const TestImage& image : index.images) PutImageBlobs(store, image);
  store.blobs().Put(index.index.data, store::Digest::Parse(index.index.digest));
  store::Descriptor root = Descriptor(index.index);
  store.PutRef(ref, root);
  return root;
}

bool StoreIsClean(const store::Store& store) {
  for (const store::Digest& d : store.blobs().List())
    if (!store.blobs().Verify(d)) return false;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(store.root() + "/ingest", ec)) {
    (void)entry;
    return false;
  }
  return true;
}

registry::RegistryOptions OptionsFor(const RegistryServer& server, const std::string& docker_config_dir) {
  registry::RegistryOptions options;
  options.docker_config_dir = docker_config_dir;
  options.hosts = registry::RegistryHosts::Options{{}, {server.certs_dir()}};
  options.http.retry.initial_delay = std::chrono::milliseconds(20);
  options.http.retry.max_delay = std::chrono::milliseconds(200);
  return options;
}

TestImageSpec SmallImageSpec(const std::string& salt) {
  TestImageSpec spec;
  spec.layers = {{{"etc/os-release", "NAME=bld-test\n"}, {"bin/tool", "#!/bin/sh\necho tool\n"}},
                 {{"app/hello.txt", "hello from a test image " + salt + "\n"}, {"app/data.bin", RandomBytes(4096, 7)}}};
  return spec;
}

}  // namespace bld::testing
