// Test images (support/registry_test_image.h) put into a bld store, and the
// checks registry tests make on a store afterwards.
#pragma once

#include <string>

#include "registry/session.h"
#include "store/store.h"
#include "support/registry_server.h"
#include "support/registry_test_image.h"

namespace bld::testing {

// Stores the image's blobs with their records and points `ref` at it.
store::Descriptor PutInStore(store::Store& store, const std::string& ref, const TestImage& image);
store::Descriptor PutInStore(store::Store& store, const std::string& ref, const TestIndex& index);

// Every file in blobs/ hashes to its name and nothing is left in ingest/.
bool StoreIsClean(const store::Store& store);

// Options that reach `server` as a client on this machine would: its CA in
// certs.d, credentials from `docker_config_dir`, and retries fast enough for
// tests.
registry::RegistryOptions OptionsFor(const RegistryServer& server, const std::string& docker_config_dir);

// A small image: two layers of a few files, the second one `salt`-dependent.
TestImageSpec SmallImageSpec(const std::string& salt = "");

}  // namespace bld::testing
