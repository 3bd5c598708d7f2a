// `bld images`, `bld tag`, `bld rmi`, `bld inspect` and `bld history`: the
// local images as docker shows them, column for column.
//
//   $ bld images
//   REPOSITORY   TAG       IMAGE ID       CREATED         SIZE
//   helloworld   latest    3c5b1e0f9a2d   2 minutes ago   2.13MB
//   <none>       <none>    8a1f0c6e2b7d   3 hours ago     2.13MB
//
// One deviation: SIZE (in images, history and inspect) is the size of the
// layer blobs as stored (compressed, usually), where docker shows the
// unpacked size, which bld does not record.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/container_commands.h"
#include "cli/store_lock.h"
#include "cli/table_format.h"
#include "registry/image_lookup.h"
#include "registry/reference.h"
#include "store/error.h"
#include "store/image.h"
#include "store/timestamp.h"

namespace bld::cli {

namespace {

using nlohmann::ordered_json;

using Clock = std::chrono::system_clock;

// Docker shows "N/A" for history entries created before 2000-01-01: such
// times are placeholders (0, or SOURCE_DATE_EPOCH=0), not dates.
constexpr Clock::time_point kEarliestShownTime{std::chrono::seconds(946684800)};
// CREATED BY is cut to this many characters unless --no-trunc, as docker's.
constexpr size_t kCreatedByWidth = 45;
constexpr std::string_view kNone = "<none>";
constexpr std::string_view kMissing = "<missing>";
// Image IDs given by prefix: the 12 digits docker prints, up to all 64.
constexpr size_t kMinIdPrefix = 12;
constexpr size_t kHexDigestLength = 64;

// One ref and the image it names.
struct LocalImage {
  std::string ref;
  store::Image image;  // of an index: the entry for this host, or its first
  store::Digest id;    // the config digest; of an index, the index's digest
  store::Digest digest;  // what the ref names: the manifest, or the index
};

// "2 hours ago", as docker's CreatedSince.
std::string Ago(Clock::time_point then, Clock::time_point now) {
  return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - then).count()) + " ago";
}

uint64_t ImageSize(const store::Image& image) {
  uint64_t total = 0;
  for (const store::Descriptor& layer : image.manifest.layers) total += static_cast<uint64_t>(layer.size);
  return total;
}

// Every ref with its image. An image the host cannot run (an index without
// a manifest for this platform) or one that is damaged is left out with a
// warning, so one bad ref does not hide the others.
std::vector<LocalImage> ListImages(const store::Store& store) {
  std::vector<LocalImage> images;
  for (const auto& [ref, descriptor] : store.ListRefs()) {
    try {
      store::NamedImage named = store::ReadNamedImage(store, descriptor);
      images.push_back({ref, std::move(named.image), named.id, descriptor.digest});
    } catch (const Error& e) {
      std::fprintf(stderr, "WARNING: skipping %s: %s\n", ref.c_str(), e.what());
    }
  }
  return images;
}

// REPOSITORY and TAG as docker shows them; a ref pinned by digest has no tag.
std::pair<std::string, std::string> RepositoryAndTag(const std::string& ref) {
  if (store::IsUntaggedRefName(ref)) return {std::string(kNone), std::string(kNone)};
  registry::Reference r = registry::Reference::ParseNormalizedNamed(ref);
  return {r.FamiliarName(), r.tag().empty() ? std::string(kNone) : r.tag()};
}

std::string FamiliarRef(const std::string& ref) {
  return store::IsUntaggedRefName(ref) ? ref : registry::FamiliarRefName(ref);
}

std::string ShownId(const store::Digest& id, bool no_trunc) { return no_trunc ? id.str() : id.Short(); }

store::Descriptor FindImage(const store::Store& store, const std::string& name) {
  std::optional<store::Descriptor> found = registry::FindLocalImage(store, name);
  if (!found) throw Error("No such image: " + name);
  return *found;
}

bool IsHex(std::string_view s) { return s.find_first_not_of("0123456789abcdef") == std::string_view::npos; }

// ---------------------------------------------------------------------------

struct ImagesFlags {
  bool quiet = false;
  bool digests = false;
  bool no_trunc = false;
  std::string filter;
};

int RunImages(const CommandContext& ctx, const ImagesFlags& f) {
  auto store = OpenStore(ctx);
  struct Row {
    std::string repository, tag;
    const LocalImage* image;
    std::optional<Clock::time_point> created;
  };
  std::vector<LocalImage> images = ListImages(*store);
  std::vector<Row> rows;
  for (const LocalImage& li : images) {
    auto [repository, tag] = RepositoryAndTag(li.ref);
    if (!f.filter.empty()) {
      if (store::IsUntaggedRefName(li.ref) ||
          !registry::FamiliarMatch(f.filter, registry::Reference::ParseNormalizedNamed(li.ref)))
        continue;
    }
    rows.push_back({repository, tag, &li, store::ParseTimestamp(li.image.config.created)});
  }
  // Newest first, as docker sorts; then by name, for a stable order.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.created != b.created)
      return a.created.value_or(Clock::time_point::min()) > b.created.value_or(Clock::time_point::min());
    return std::tie(a.repository, a.tag) < std::tie(b.repository, b.tag);
  });

  if (f.quiet) {
    std::set<store::Digest> shown;
    for (const Row& r : rows)
      if (shown.insert(r.image->id).second)
        std::printf("%s\n", ShownId(r.image->id, f.no_trunc).c_str());
    return 0;
  }
  std::vector<std::string> header = {"REPOSITORY", "TAG"};
  if (f.digests) header.push_back("DIGEST");
  header.insert(header.end(), {"IMAGE ID", "CREATED", "SIZE"});
  Table table(header);
  Clock::time_point now = Clock::now();
  for (const Row& r : rows) {
    std::vector<std::string> cells = {r.repository, r.tag};
    if (f.digests) cells.push_back(r.image->digest.str());
    cells.push_back(ShownId(r.image->id, f.no_trunc));
    cells.push_back(r.created ? Ago(*r.created, now) : "N/A");
    cells.push_back(HumanSize(ImageSize(r.image->image)));
    table.AddRow(cells);
  }
  std::fputs(table.Render().c_str(), stdout);
  return 0;
}

// ---------------------------------------------------------------------------

int RunTag(const CommandContext& ctx, const std::string& source, const std::string& target) {
  auto store = OpenStore(ctx);
  if (!registry::Reference::ParseNormalizedNamed(target).digest().empty())
    throw Error("refusing to create a tag with a digest reference: " + target);
  std::string name = registry::CanonicalRefName(target);
  store::GcLock lock = LockStoreShared(*store);
  store::Descriptor descriptor = FindImage(*store, source);
  store->PutRef(name, descriptor);
  // Named now: no longer one of the <none> images.
  std::string untagged = store::UntaggedRefName(descriptor.digest);
  if (store->GetRef(untagged)) store->DeleteRef(untagged);
  return 0;
}

// ---------------------------------------------------------------------------

// The refs `name` removes: the ref it names, or, for an image ID, every ref
// of that image (all in one repository, as docker requires without -f).
std::vector<std::string> RefsToRemove(const store::Store& store, const std::string& name) {
  std::string_view id = name;
  if (id.starts_with("sha256:")) id.remove_prefix(7);
  if (id.size() >= kMinIdPrefix && id.size() <= kHexDigestLength && IsHex(id)) {
    std::vector<std::string> refs;
    std::set<std::string> repositories;
    std::set<store::Digest> ids;
    for (const LocalImage& li : ListImages(store)) {
      if (!li.id.hex().starts_with(id)) continue;
      refs.push_back(li.ref);
      ids.insert(li.id);
      if (!store::IsUntaggedRefName(li.ref)) repositories.insert(RepositoryAndTag(li.ref).first);
    }
    if (ids.size() > 1) throw Error("image ID prefix " + name + " is ambiguous: give more digits");
    if (repositories.size() > 1)
      throw Error("unable to delete " + std::string(id.substr(0, kMinIdPrefix)) +
                  ": the image is referenced in multiple repositories; remove its names one by one");
    if (!refs.empty()) return refs;
  }
  std::string ref = registry::CanonicalRefName(name);
  if (!store.GetRef(ref)) throw Error("No such image: " + name);
  return {ref};
}

int RunRmi(const CommandContext& ctx, const std::vector<std::string>& names) {
  auto store = OpenStore(ctx);
  int status = 0;
  // As docker: every name is tried, and the command fails if one failed.
  for (const std::string& name : names) {
    try {
      for (const std::string& ref : RefsToRemove(*store, name))
        if (store->DeleteRef(ref)) std::printf("Untagged: %s\n", FamiliarRef(ref).c_str());
    } catch (const Error& e) {
      std::fprintf(stderr, "Error: %s\n", e.what());
      status = 1;
    }
  }
  return status;
}

// ---------------------------------------------------------------------------

ordered_json InspectJson(const store::Store& store, const store::Descriptor& descriptor,
                         const std::vector<LocalImage>& all) {
  store::NamedImage named = store::ReadNamedImage(store, descriptor);
  const store::Image& image = named.image;
  ordered_json tags = ordered_json::array();
  ordered_json digests = ordered_json::array();
  std::set<std::string> repositories;
  for (const LocalImage& li : all) {
    if (li.id != named.id || store::IsUntaggedRefName(li.ref)) continue;
    registry::Reference r = registry::Reference::ParseNormalizedNamed(li.ref);
    if (!r.tag().empty()) tags.push_back(r.FamiliarString());
    if (repositories.insert(r.FamiliarName()).second)
      digests.push_back(r.FamiliarName() + "@" + li.digest.str());
  }
  ordered_json config = ordered_json::parse(store::Serialize(image.config));
  ordered_json j;
  j["Id"] = named.id.str();
  j["RepoTags"] = tags;
  j["RepoDigests"] = digests;
  j["Parent"] = "";
  j["Comment"] = image.config.history.empty() ? "" : image.config.history.back().comment;
  j["Created"] = image.config.created;
  j["Author"] = image.config.author;
  j["Config"] = config.contains("config") ? config["config"] : ordered_json::object();
  j["Architecture"] = image.config.architecture;
  if (!image.config.variant.empty()) j["Variant"] = image.config.variant;
  j["Os"] = image.config.os;
  j["Size"] = ImageSize(image);
  ordered_json layers = ordered_json::array();
  for (const store::Digest& d : image.config.rootfs.diff_ids) layers.push_back(d.str());
  j["RootFS"] = {{"Type", image.config.rootfs.type}, {"Layers", layers}};
  j["Descriptor"] =
      ordered_json::parse(store::Serialize(named.entries.empty() ? image.manifest_descriptor : descriptor));
  // A multi-platform image: every platform's manifest; the fields above
  // describe the one for this host (or the first).
  if (!named.entries.empty()) {
    ordered_json manifests = ordered_json::array();
    for (const store::Descriptor& d : named.entries) manifests.push_back(ordered_json::parse(store::Serialize(d)));
    j["Manifests"] = manifests;
  }
  return j;
}

int RunInspect(const CommandContext& ctx, const std::vector<std::string>& names) {
  auto store = OpenStore(ctx);
  std::vector<LocalImage> all = ListImages(*store);
  ordered_json out = ordered_json::array();
  std::vector<std::string> errors;
  for (const std::string& name : names) {
    try {
      out.push_back(InspectJson(*store, FindImage(*store, name), all));
    } catch (const Error& e) {
      // As docker's: a name that is no image may be a container's.
      if (std::optional<ordered_json> container = InspectContainer(*store, name)) {
        out.push_back(*container);
      } else {
        errors.push_back(e.what());
      }
    }
  }
  // As docker: what was found is printed, then what was not.
  std::printf("%s\n", out.dump(4).c_str());
  for (const std::string& e : errors) std::fprintf(stderr, "Error: %s\n", e.c_str());
  return errors.empty() ? 0 : 1;
}

// ---------------------------------------------------------------------------

int RunHistory(const CommandContext& ctx, const std::string& name, bool no_trunc) {
  auto store = OpenStore(ctx);
  store::Image image = store::ReadImage(*store, FindImage(*store, name));
  struct Entry {
    std::string created, created_by, comment;
    uint64_t size = 0;
  };
  std::vector<Entry> entries;
  const auto& layers = image.manifest.layers;
  if (image.config.history.empty()) {
    // No history recorded: one row per layer, as docker shows such images.
    for (const store::Descriptor& layer : layers)
      entries.push_back({image.config.created, "", "", static_cast<uint64_t>(layer.size)});
  } else {
    size_t next_layer = 0;
    for (const store::HistoryEntry& h : image.config.history) {
      Entry e{h.created, h.created_by, h.comment, 0};
      if (!h.empty_layer && next_layer < layers.size()) e.size = static_cast<uint64_t>(layers[next_layer++].size);
      entries.push_back(e);
    }
  }

  Table table({"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"});
  Clock::time_point now = Clock::now();
  for (size_t i = entries.size(); i-- > 0;) {
    const Entry& e = entries[i];
    std::optional<Clock::time_point> created = store::ParseTimestamp(e.created);
    std::string created_by = e.created_by;
    std::replace(created_by.begin(), created_by.end(), '\t', ' ');
    table.AddRow({i + 1 == entries.size() ? ShownId(image.id(), no_trunc) : std::string(kMissing),
                  created && *created > kEarliestShownTime ? Ago(*created, now) : "N/A",
                  no_trunc ? created_by : Ellipsis(created_by, kCreatedByWidth), HumanSize(e.size), e.comment});
  }
  std::fputs(table.Render().c_str(), stdout);
  return 0;
}

}  // namespace

void AddImagesCommand(CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<ImagesFlags>();
  auto* cmd = app.add_subcommand("images", "List images");
  cmd->add_flag("-q,--quiet", f->quiet, "Only show image IDs");
  cmd->add_flag("--digests", f->digests, "Show manifest digests");
  cmd->add_flag("-a,--all")
      ->description("Show all images (bld keeps no intermediate images, the build cache is separate: the same list)");
  cmd->add_flag("--no-trunc", f->no_trunc, "Show full image IDs");
  cmd->add_option("repository", f->filter, "Only images whose REPOSITORY[:TAG] matches (wildcards allowed)");
  cmd->callback([&ctx, f] { RunCommand(ctx, [&ctx, f] { return RunImages(ctx, *f); }); });
}

void AddTagCommand(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  cmd->add_option("source", args->first, "SOURCE_IMAGE[:TAG] or image ID")->required();
  cmd->add_option("target", args->second, "TARGET_IMAGE[:TAG]")->required();
  cmd->callback([&ctx, args] { RunCommand(ctx, [&ctx, args] { return RunTag(ctx, args->first, args->second); }); });
}

void AddRmiCommand(CLI::App& app, CommandContext& ctx) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("rmi", "Remove image names (the data goes with `bld prune`)");
  cmd->add_option("images", *names, "Image names or IDs")->required();
  cmd->callback([&ctx, names] { RunCommand(ctx, [&ctx, names] { return RunRmi(ctx, *names); }); });
}

void AddInspectCommand(CLI::App& app, CommandContext& ctx) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("inspect", "Show the details of images as JSON");
  cmd->add_option("images", *names, "Image names or IDs")->required();
  cmd->callback([&ctx, names] { RunCommand(ctx, [&ctx, names] { return RunInspect(ctx, *names); }); });
}

void AddHistoryCommand(CLI::App& app, CommandContext& ctx) {
  struct Args {
    std::string name;
    bool no_trunc = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("history", "Show the history of an image");
  cmd->add_flag("--no-trunc", args->no_trunc, "Don't truncate output");
  cmd->add_option("image", args->name, "Image name or ID")->required();
  cmd->callback(
      [&ctx, args] { RunCommand(ctx, [&ctx, args] { return RunHistory(ctx, args->name, args->no_trunc); }); });
}

}  // namespace bld::cli
