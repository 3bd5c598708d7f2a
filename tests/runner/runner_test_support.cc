#include "runner_test_support.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "runner/upper_dir_layer.h"
#include "store/layer_applier.h"
#include "store/layer_writer.h"
#include "support/busybox.h"

namespace bld::testing {

namespace fs = std::filesystem;

runner::LayerRef ImportDirectoryLayer(store::Store& store, const std::string& dir) {
  store::BlobWriter writer = store.blobs().NewWriter();
  store::LayerWriteOptions options;
  options.compression = store::Compression::kNone;
  store::LayerInfo info =
      store::WriteLayerFromDirectory(dir, options, [&](const void* data, size_t size) { writer.Write(data, size); });
  writer.Commit(info.digest);
  store.RecordDiffId(info.diff_id, info.digest);
  return {info.diff_id, info.digest};
}

void ApplyLayers(store::Store& store, const std::vector<runner::LayerRef>& layers, const std::string& target) {
  for (const runner::LayerRef& layer : layers) {
    store::BlobReader reader = store.blobs().Open(layer.blob);
    store::ApplyLayer([&](void* data, size_t size) { return reader.Read(data, size); }, target);
  }
}

std::set<std::string> LayerEntryNames(store::Store& store, const store::Digest& blob) {
  ProcessResult listing = RunProcess({"tar", "-tf", store.blobs().Path(blob)});
  if (listing.exit_code != 0) throw std::runtime_error("tar -tf failed: " + listing.err);
  std::set<std::string> names;
  for (std::string name : Lines(listing.out)) {
    if (name.starts_with("./")) name.erase(0, 2);
    while (name.ends_with("/")) name.pop_back();
    if (!name.empty()) names.insert(name);
  }
  return names;
}

std::map<std::string, std::string> DescribeTree(const std::string& dir) {
  std::map<std::string, std::string> tree;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
    struct stat st;
    if (::lstat(entry.path().c_str(), &st) != 0) throw std::runtime_error("lstat " + entry.path().string());
    std::ostringstream line;
    line << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid;
    if (S_ISREG(st.st_mode)) line << " " << ReadFile(entry.path());
    if (S_ISLNK(st.st_mode)) line << " -> " << fs::read_symlink(entry.path()).string();
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) line << " " << major(st.st_rdev) << "," << minor(st.st_rdev);
    tree[fs::relative(entry.path(), dir).string()] = line.str();
  }
  return tree;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

int RunInChild(const std::function<void()>& fn) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    try {
      fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      ::_exit(1);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

RunnerFixture::RunnerFixture(const std::function<void(const std::string& rootfs)>& customize)
    : root_(dir_ / "store"), base_rootfs_(dir_ / "base") {
  MakeBusyboxRootfs(base_rootfs_);
  if (customize) customize(base_rootfs_);
  store_ = store::Store::Open(root_);
  base_ = ImportDirectoryLayer(*store_, base_rootfs_);
}

RunnerFixture::Run RunnerFixture::Sh(const std::string& script, runner::RunConfig config,
                                     const std::vector<runner::LayerRef>& extra,
                                     const runner::ContainerSecurity& security) {
  runner::StepSpec spec;
  spec.security = security;
  spec.layers.push_back(base_);
  spec.layers.insert(spec.layers.end(), extra.begin(), extra.end());
  config.argv = {"/bin/sh", "-c", script};
  spec.run = std::move(config);
  Run run;
  run.result = runner::RunStep(*store_, spec, [&](std::string_view line) {
    run.output.append(line);
    run.output += '\n';
  });
  if (run.result.layer) run.blob = WriteLayerBlob(*store_, spec.layers, *run.result.layer);
  return run;
}

store::Digest WriteLayerBlob(store::Store& store, const std::vector<runner::LayerRef>& below,
                             const store::LayerInfo& layer) {
  std::vector<store::Digest> diff_ids;
  for (const runner::LayerRef& ref : below) diff_ids.push_back(ref.diff_id);
  diff_ids.push_back(layer.diff_id);
  return runner::StoreSnapshotBlob(store, runner::Snapshotter::ChainIds(diff_ids).back(), layer.diff_id, {}).digest;
}

}  // namespace bld::testing
