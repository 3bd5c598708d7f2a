// `bld check`: verifies that a store keeps the invariants of docs/design.md and
// docs/store-format.md, and lists every place where it does not.
//
// What is checked:
//  - every blob: its content hashes to its name (disk corruption, tampering);
//  - every ref: its record parses, and every blob of its closure is present
//    with the size its descriptor says; for an image, each layer whose
//    diffID the index knows has the diffID its config lists;
//  - every index record names a blob that is present: blob records (with the
//    size they record), both diffID tables (which must agree), and snapshot
//    records, whose directory must exist.
// Not problems: blobs nothing reaches and files in ingest/ left by writers
// that died. A crash may leave both; `bld prune` removes them.
//
// Reading every blob makes a check as slow as reading the store once. Run it
// under a shared GcLock (garbage_collector.h) so that no prune removes blobs
// while they are checked; writers may run meanwhile, since they write blobs
// before the records and refs that name them.
//
// Thread safety: CheckStore only reads; any number may run at once.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "store/blob_store.h"
#include "store/store.h"

namespace bld::store {

struct CheckReport {
  // One line each, naming the object and what is wrong with it.
  std::vector<std::string> problems;
  size_t blobs = 0;
  size_t refs = 0;
  size_t records = 0;
  std::vector<IngestFile> ingest_leftovers;
};

CheckReport CheckStore(const Store& store);

}  // namespace bld::store
