// `bld import`, `bld save` and `bld load`: images in and out of the store as
// tarballs, with docker's arguments and output.
//
//   $ bld import rootfs.tar.gz base:v1          $ bld save -o app.tar app
//   sha256:3c5b1e0f...                          $ bld load -i app.tar
//                                               Loaded image: app:latest
//
// Archives stream: nothing is read whole into memory, and `bld save` to a
// file writes a temporary file beside it, renamed into place only when the
// archive is complete, so a killed save never leaves a truncated archive
// under the name asked for.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "builder/lazy_images.h"
#include "cli/commands.h"
#include "cli/output_file.h"
#include "cli/source_date_epoch.h"
#include "cli/store_lock.h"
#include "registry/image_lookup.h"
#include "registry/reference.h"
#include "store/error.h"
#include "store/fd_io.h"
#include "store/image.h"
#include "store/image_archive.h"
#include "store/image_import.h"
#include "store/platform.h"

namespace bld::cli {

namespace {

// The file (or stdin, for "-") an archive is read from.
class Input {
 public:
  explicit Input(const std::string& path) : path_(path) {
    if (path == "-") {
      if (isatty(STDIN_FILENO))
        throw Error("refusing to read an archive from a terminal: name a file, or pipe or redirect one in");
      fd_ = STDIN_FILENO;
      return;
    }
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw SysError("cannot open " + path);
    owned_ = true;
  }
  ~Input() {
    if (owned_) ::close(fd_);
  }
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  store::ByteSource Source() { return store::FdSource(fd_, path_ == "-" ? std::string("stdin") : path_); }

 private:
  std::string path_;
  int fd_ = -1;
  bool owned_ = false;
};

// A name for a new ref: canonical, and with a tag, not a digest.
std::string NewRefName(const std::string& name) {
  if (!registry::Reference::ParseNormalizedNamed(name).digest().empty())
    throw Error("refusing to create a tag with a digest reference: " + name);
  return registry::CanonicalRefName(name);
}

// Points `names` (canonical; none: the <none> ref) at `descriptor`.
void NameImage(store::Store& store, const std::vector<std::string>& names, const store::Descriptor& descriptor) {
  if (names.empty()) {
    store.PutRef(store::UntaggedRefName(descriptor.digest), descriptor);
    return;
  }
  for (const std::string& name : names) store.PutRef(name, descriptor);
  std::string untagged = store::UntaggedRefName(descriptor.digest);
  if (store.GetRef(untagged)) store.DeleteRef(untagged);
}

// ---------------------------------------------------------------------------

struct ImportArgs {
  std::string file;
  std::string name;
  std::string message;
  std::string platform;  // empty: the host's
};

int RunImport(const CommandContext& ctx, const ImportArgs& a) {
  std::vector<std::string> names;
  if (!a.name.empty()) names.push_back(NewRefName(a.name));
  Input input(a.file);
  auto store = OpenStore(ctx);
  store::GcLock lock = LockStoreShared(*store);
  store::ImportOptions options;
  options.source = a.file;
  options.message = a.message;
  if (!a.platform.empty()) options.platform = store::ParsePlatform(a.platform);
  if (std::optional<int64_t> epoch = SourceDateEpoch())
    options.created = std::chrono::system_clock::time_point(std::chrono::seconds(*epoch));
  store::ImportResult result = store::ImportRootfs(*store, input.Source(), options);
  NameImage(*store, names, result.manifest);
  std::printf("%s\n", result.image_id.str().c_str());
  return 0;
}

// ---------------------------------------------------------------------------

struct SaveArgs {
  std::string output;
  std::string format = "docker";
  std::vector<std::string> names;
};

store::ArchiveName NameOf(const std::string& ref) { return {ref, registry::FamiliarRefName(ref)}; }

// What one argument of `bld save` asks for, as docker reads it: a
// repository without tag or digest means all of its tags; then a name; then
// an image ID (saved without names).
std::vector<store::SaveRequest> Resolve(const store::Store& store, const std::string& arg) {
  std::optional<registry::Reference> named;
  try {
    named = registry::Reference::ParseNormalizedNamed(arg);
  } catch (const Error&) {
    // Not a name; perhaps an image ID.
  }
  if (named && named->tag().empty() && named->digest().empty()) {
    std::vector<store::SaveRequest> all;
    for (const auto& [ref, descriptor] : store.ListRefs()) {
      if (store::IsUntaggedRefName(ref) || registry::Reference::ParseNormalizedNamed(ref).name() != named->name())
        continue;
      all.push_back({descriptor, {NameOf(ref)}});
    }
    if (!all.empty()) return all;
  }
  if (named) {
    std::string ref = registry::CanonicalRefName(arg);
    if (std::optional<store::Descriptor> d = store.GetRef(ref)) return {{*d, {NameOf(ref)}}};
  }
  std::optional<store::Descriptor> d = registry::FindLocalImage(store, arg);
  if (!d) throw Error("No such image: " + arg);
  return {{*d, {}}};
}

int RunSave(const CommandContext& ctx, const SaveArgs& a) {
  store::ArchiveFormat format;
  if (a.format == "docker" || a.format == "docker-archive") {
    format = store::ArchiveFormat::kDocker;
  } else if (a.format == "oci" || a.format == "oci-archive") {
    format = store::ArchiveFormat::kOci;
  } else {
    throw Error("--format " + a.format + ": use docker or oci");
  }
  if (a.output.empty() && isatty(STDOUT_FILENO))
    throw Error("refusing to write an archive to a terminal: use -o FILE or redirect the output");
  auto store = OpenStore(ctx);
  // Shared: no prune may remove a blob of these images while they are read.
  store::GcLock lock = LockStoreShared(*store);
  std::vector<store::SaveRequest> requests;
  for (const std::string& name : a.names) {
    std::vector<store::SaveRequest> found = Resolve(*store, name);
    requests.insert(requests.end(), found.begin(), found.end());
  }
  // A built image's layers may have no blobs yet, or be at a registry
  // (builder/lazy_images.h).
  for (store::SaveRequest& r : requests) {
    builder::FetchRemoteLayers(*store, store->Closure(r.descriptor), RegistryOptionsFrom({}));
    r.descriptor = builder::CompleteImage(*store, r.descriptor);
  }
  if (a.output.empty()) {
    store::SaveImages(*store, requests, format,
                      [](const void* data, size_t size) { store::WriteAll(STDOUT_FILENO, data, size, "stdout"); });
  } else {
    OutputFile out(a.output);
    store::SaveImages(*store, requests, format, [&out](const void* data, size_t size) { out.Write(data, size); });
    out.Commit();
  }
  return 0;
}

// ---------------------------------------------------------------------------

int RunLoad(const CommandContext& ctx, const std::string& file) {
  Input input(file.empty() ? "-" : file);
  auto store = OpenStore(ctx);
  store::GcLock lock = LockStoreShared(*store);
  store::LoadResult result = store::LoadImages(*store, input.Source(), file.empty() || file == "-" ? "stdin" : file);
  // Every name is checked before the first ref is written.
  std::vector<std::vector<std::string>> names;
  for (const store::LoadedImage& image : result.images) {
    names.emplace_back();
    for (const std::string& name : image.names) {
      try {
        names.back().push_back(NewRefName(name));
      } catch (const Error& e) {
        throw Error("the archive names an image \"" + name + "\": " + e.what());
      }
    }
  }
  for (size_t i = 0; i < result.images.size(); ++i) {
    NameImage(*store, names[i], result.images[i].descriptor);
    if (names[i].empty()) std::printf("Loaded image ID: %s\n", result.images[i].image_id.str().c_str());
    for (const std::string& name : names[i]) std::printf("Loaded image: %s\n", registry::FamiliarRefName(name).c_str());
  }
  return 0;
}

}  // namespace

void AddImportCommand(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<ImportArgs>();
  auto* cmd = app.add_subcommand("import", "Import a root filesystem tarball as a one-layer image");
  cmd->add_option("-m,--message", a->message, "Comment for the image's history");
  cmd->add_option("--platform", a->platform,
                  "Platform the image's files are for (os/arch[/variant]; default: the host's)");
  cmd->add_option("file", a->file, "Tarball (tar, tar.gz, tar.zst, ...), or - for stdin")->required();
  cmd->add_option("name", a->name, "REPOSITORY[:TAG] for the image");
  cmd->callback([&ctx, a] { RunCommand(ctx, [&ctx, a] { return RunImport(ctx, *a); }); });
}

void AddSaveCommand(CLI::App& app, CommandContext& ctx) {
  auto a = std::make_shared<SaveArgs>();
  auto* cmd = app.add_subcommand("save", "Save images to a tar archive (stdout by default)");
  cmd->add_option("-o,--output", a->output, "Write to a file instead of stdout");
  cmd->add_option("--format", a->format, "docker (docker-archive, the default) or oci (OCI image layout)");
  cmd->add_option("images", a->names, "Image names or IDs")->required();
  cmd->callback([&ctx, a] { RunCommand(ctx, [&ctx, a] { return RunSave(ctx, *a); }); });
}

void AddLoadCommand(CLI::App& app, CommandContext& ctx) {
  auto file = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("load", "Load images from a docker-archive or OCI layout tarball (stdin by default)");
  cmd->add_option("-i,--input", *file, "Read from a file instead of stdin");
  cmd->callback([&ctx, file] { RunCommand(ctx, [&ctx, file] { return RunLoad(ctx, *file); }); });
}

}  // namespace bld::cli
