#include "store/layer_reader.h"

#include <linux/limits.h>

#include <exception>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "store/error.h"
#include "store/quote.h"

namespace bld::store {

namespace {

// What follows the tar's end is read in blocks of this size.
constexpr size_t kDrainBlockSize = 128 * 1024;
// The kernel refuses longer paths and names anyway; checking first gives a
// clear message instead of ENAMETOOLONG from some syscall.
constexpr size_t kMaxPathLength = PATH_MAX;
constexpr size_t kMaxNameLength = NAME_MAX;

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
// AUFS kept its own metadata under this prefix (.wh..wh.plnk, .wh..wh.aufs);
// it is not content, and Docker skips it too.
constexpr std::string_view kAufsMetaPrefix = ".wh..wh.";

// A tar name as a clean path relative to the root: leading slashes and "."
// components dropped, ".." resolved lexically (Go's filepath.Clean, as Docker
// does). "" is the root itself. nullopt when ".." climbs above the root.
// `what` names the entry in errors about length.
std::optional<std::string> CleanLayerPath(std::string_view name, const std::string& what) {
  if (name.size() > kMaxPathLength)
    throw Error(what + " is " + std::to_string(name.size()) + " bytes long; paths are limited to " +
                std::to_string(kMaxPathLength));
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t end = std::min(name.find('/', pos), name.size());
    std::string_view part = name.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
      continue;
    }
    if (part.size() > kMaxNameLength)
      throw Error(what + " has a name of " + std::to_string(part.size()) + " bytes; names are limited to " +
                  std::to_string(kMaxNameLength));
    parts.push_back(part);
  }
  std::string clean;
  for (std::string_view part : parts) {
    if (!clean.empty()) clean += '/';
    clean += part;
  }
  return clean;
}

// True when `path`, read from the root, has more ".." than names before them.
bool ClimbsAboveRoot(std::string_view path) {
  long depth = 0;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    depth += part == ".." ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

}  // namespace

// The decompressed layer, hashed (and tapped) as it is read.
class LayerReader::Stream {
 public:
  Stream(const ByteSource& source, ByteSink tap) : reader_(source), tap_(std::move(tap)) {}

  size_t Read(void* data, size_t size) {
    size_t n = reader_.Read(data, size);
    hasher_.Update(data, n);
    if (tap_ && n > 0) tap_(data, n);
    size_ += n;
    return n;
  }

  void Drain() {
    std::vector<char> buffer(kDrainBlockSize);
    while (Read(buffer.data(), buffer.size()) > 0) {
    }
  }

  Compression compression() const { return reader_.compression(); }
  uint64_t size() const { return size_; }
  Digest FinishDigest() { return hasher_.Finish(); }

 private:
  DecompressingReader reader_;
  ByteSink tap_;
  Sha256 hasher_;
  uint64_t size_ = 0;
};

std::string JoinLayerPath(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

std::pair<std::string, std::string> SplitLayerPath(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

LayerReader::LayerReader(const ByteSource& source, ByteSink tap)
    : stream_(std::make_unique<Stream>(source, std::move(tap))),
      // tar covers ustar, PAX, GNU and v7 headers; decompression is Stream's.
      tar_([stream = stream_.get()](void* data, size_t size) { return stream->Read(data, size); },
           ArchiveReader::Format::kTar, ArchiveReader::Filter::kNone, "", "the layer is empty, not a tar archive") {}

LayerReader::~LayerReader() = default;

const LayerEntry* LayerReader::Next() {
  while (archive_entry* entry = tar_.Next()) {
    current_ = LayerEntry{};
    current_.entry = entry;
    current_.name = tar_.entry_name();
    current_.what = "layer entry " + QuoteName(current_.name);
    if (!Check(current_)) continue;
    Remember(current_);
    return &current_;
  }
  return nullptr;
}

bool LayerReader::Check(LayerEntry& e) {
  const std::string& what = e.what;
  std::optional<std::string> clean = CleanLayerPath(e.name, what);
  if (!clean) throw Error(what + " climbs above the root with \"..\"");
  auto [dir, base] = SplitLayerPath(*clean);

  // Every directory on the way must be one: not a symlink or a file that
  // an earlier entry made.
  auto check_parents = [&](const std::string& path) {
    for (size_t end = path.find('/'); end != std::string::npos; end = path.find('/', end + 1)) {
      auto made = made_.find(std::string_view(path).substr(0, end));
      if (made == made_.end() || made->second == LayerEntry::Kind::kDirectory) continue;
      if (made->second == LayerEntry::Kind::kSymlink)
        throw Error(what + " goes through " + QuoteName(made->first) + ", a symlink an earlier entry made");
      throw Error(what + " is below " + QuoteName(made->first) + ", which an earlier entry made a file");
    }
  };

  if (base.starts_with(kWhiteoutPrefix)) {
    if (base == kOpaqueMarker) {
      e.kind = LayerEntry::Kind::kOpaque;
      e.path = dir;
      check_parents(JoinLayerPath(dir, base));
      return true;
    }
    if (base.starts_with(kAufsMetaPrefix)) return false;
    e.kind = LayerEntry::Kind::kWhiteout;
    std::string victim = base.substr(kWhiteoutPrefix.size());
    if (victim.empty() || victim == "." || victim == "..")
      throw Error(what + " is a whiteout for " + QuoteName(victim) + ", which is not a name that can be deleted");
    e.path = JoinLayerPath(dir, victim);
    check_parents(e.path);
    return true;
  }

  e.path = std::move(*clean);
  const char* hardlink = archive_entry_hardlink(e.entry);
  mode_t type = archive_entry_filetype(e.entry);
  if (e.path.empty() && (hardlink || type != AE_IFDIR)) throw Error(what + " would replace the root directory itself");
  check_parents(e.path);

  if (hardlink) {
    e.kind = LayerEntry::Kind::kHardLink;
    std::optional<std::string> link = CleanLayerPath(hardlink, what + " (its link target)");
    if (!link) throw Error(what + " is a hard link to " + QuoteName(hardlink) + ", which climbs above the root");
    if (link->empty()) throw Error(what + " is a hard link to the root directory");
    e.link = std::move(*link);
    if (e.link == e.path) return true;  // a link to itself: nothing to make
    auto target = made_.find(e.link);
    if (target == made_.end())
      throw Error(what + " is a hard link to " + QuoteName(hardlink) + ", which is not an earlier entry of the layer");
    if (target->second == LayerEntry::Kind::kDirectory)
      throw Error(what + " is a hard link to the directory " + QuoteName(hardlink));
    return true;
  }
  switch (type) {
    case AE_IFDIR:
      e.kind = LayerEntry::Kind::kDirectory;
      return true;
    case AE_IFREG:
      e.kind = LayerEntry::Kind::kFile;
      return true;
    case AE_IFLNK: {
      e.kind = LayerEntry::Kind::kSymlink;
      const char* target = archive_entry_symlink(e.entry);
      if (!target) target = archive_entry_symlink_utf8(e.entry);
      if (!target || !*target) throw Error(what + " is a symlink without a target");
      if (*target != '/' && ClimbsAboveRoot(JoinLayerPath(dir, target)))
        throw Error(what + " is a symlink to " + QuoteName(target) + ", which climbs above the root");
      return true;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      e.kind = LayerEntry::Kind::kSpecial;
      return true;
    default:
      throw Error(what + " has an unsupported file type " + std::to_string(type));
  }
}

void LayerReader::Remember(const LayerEntry& e) {
  using Kind = LayerEntry::Kind;
  if (e.kind == Kind::kOpaque) return;  // this layer's own entries stay
  auto forget_below = [&](const std::string& path) {
    std::string prefix = path + "/";
    for (auto it = made_.lower_bound(prefix); it != made_.end() && it->first.starts_with(prefix);)
      it = made_.erase(it);
  };
  if (e.kind == Kind::kWhiteout) {
    forget_below(e.path);
    made_.erase(e.path);
    return;
  }
  if (e.path.empty()) return;  // the root, a directory
  Kind kind = e.kind;
  if (kind == Kind::kHardLink) {
    auto target = made_.find(e.link);
    if (target == made_.end()) return;  // a link to itself that nothing made: nothing is made
    kind = target->second;              // a hard link to a symlink is the symlink again
  }
  auto made = made_.find(e.path);
  // A directory over a directory keeps what is in it; anything else
  // replaces whatever had the name.
  if (kind == Kind::kDirectory && made != made_.end() && made->second == Kind::kDirectory) return;
  forget_below(e.path);
  made_[e.path] = kind;
}

bool LayerReader::ReadBlock(const void** block, size_t* size, int64_t* offset) {
  return tar_.ReadBlock(block, size, offset);
}

LayerSummary LayerReader::Finish() {
  stream_->Drain();
  LayerSummary summary;
  summary.diff_id = stream_->FinishDigest();
  summary.size = stream_->size();
  summary.compression = stream_->compression();
  return summary;
}

LayerSummary VerifyLayer(const ByteSource& layer, const ByteSink& tap) {
  LayerReader reader(layer, tap);
  while (reader.Next()) {
  }
  return reader.Finish();
}

}  // namespace bld::store
