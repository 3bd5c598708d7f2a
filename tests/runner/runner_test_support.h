// Shared setup for the runner's tests: a store in a temporary directory whose
// base image is one busybox layer, and helpers to run steps on it and to look
// inside the layers they make.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runner/step_runner.h"
#include "store/store.h"
#include "support/process.h"

namespace bld::testing {

// Stores the tree under `dir` as an uncompressed layer blob and records it.
runner::LayerRef ImportDirectoryLayer(store::Store& store, const std::string& dir);

// Applies layer blobs (base first) to `target` with the plain applier, as a
// registry client would unpack the image.
void ApplyLayers(store::Store& store, const std::vector<runner::LayerRef>& layers, const std::string& target);

// Writes the blob of a step's `layer` (made on `below`) from its snapshot,
// as the builder does for an image's layers; returns its digest.
store::Digest WriteLayerBlob(store::Store& store, const std::vector<runner::LayerRef>& below,
                             const store::LayerInfo& layer);

// The entry names of a layer blob, without "./" and trailing "/", sorted.
std::set<std::string> LayerEntryNames(store::Store& store, const store::Digest& blob);

// One line per path under `dir` (type, mode, owner, content or link target;
// no times), for comparing two trees.
std::map<std::string, std::string> DescribeTree(const std::string& dir);

// The lines of `text`.
std::vector<std::string> Lines(const std::string& text);

// Runs `fn` in a forked child and returns its exit code (128 + signal when
// killed). The child exits 0 when fn returns, 1 when it throws (the message
// goes to stderr).
int RunInChild(const std::function<void()>& fn);

class RunnerFixture {
 public:
  // `customize` may add to the base root filesystem before it is imported.
  explicit RunnerFixture(const std::function<void(const std::string& rootfs)>& customize = {});

  store::Store& store() { return *store_; }
  const std::string& root() const { return root_; }
  const std::string& base_rootfs() const { return base_rootfs_; }
  const runner::LayerRef& base() const { return base_; }
  // Closes the store, for tests that fork processes which open it.
  void CloseStore() { store_.reset(); }
  void ReopenStore() { store_ = store::Store::Open(root_); }

  struct Run {
    runner::StepResult result;
    std::string output;  // every line, each followed by '\n'
    // The blob of result.layer, written from its snapshot as a build does
    // for the layers of its image (the step itself writes none).
    store::Digest blob;
  };
  // Runs `script` with /bin/sh -c on the base layer (and `extra` layers on
  // top), with `config` and `security` for everything else.
  Run Sh(const std::string& script, runner::RunConfig config = {}, const std::vector<runner::LayerRef>& extra = {},
         const runner::ContainerSecurity& security = {});

 private:
  TempDir dir_;
  std::string root_;
  std::string base_rootfs_;
  std::unique_ptr<store::Store> store_;
  runner::LayerRef base_;
};

}  // namespace bld::testing
