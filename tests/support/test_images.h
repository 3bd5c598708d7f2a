// Images made inside a test's store, without any bld command: the base
// images builder, runner and registry tests start from.
#pragma once

#include <string>

#include "store/oci.h"
#include "store/store.h"

namespace bld::testing {

// Stores a one-layer busybox image (see busybox.h) and points `name` (e.g.
// "busybox", normalized as Docker does) at it. Returns the manifest's
// descriptor.
store::Descriptor MakeBusyboxImage(store::Store& store, const std::string& name = "busybox");

}  // namespace bld::testing
