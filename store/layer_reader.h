// Reading an image layer as hostile input: the one home of the rules every
// layer entry must pass, wherever a layer comes in. ApplyLayer
// (layer_applier.h) writes what passes to a directory; VerifyLayer only
// checks, so that `bld load` and `bld import` refuse a bad layer at the door
// instead of at its first unpack, far from the cause.
//
// One pass: the stream is decompressed (plain tar, gzip or zstd, detected
// from its first bytes; bzip2 and xz too, as Docker accepts them), hashed
// as it goes (the diffID), handed to an optional tap (`bld import`
// compresses it into the blob store), and parsed by libarchive.
//
// The rules, each refusal naming the entry (tests/store/hostile_tar_test.cc
// holds one case each):
//  - names are made relative and clean as Docker does (filepath.Clean):
//    leading "/" and "." components dropped, ".." resolved lexically; a ".."
//    that climbs above the root is refused, and so are names over NAME_MAX
//    and paths over PATH_MAX (with their length);
//  - the root itself may only be a directory entry;
//  - an entry whose path passes through a symlink an earlier entry of the
//    layer made is refused: a tar of a real filesystem never has one (a
//    symlink is a leaf when a tree is walked), and a crafted one uses it to
//    write where the link points;
//  - likewise an entry below a path an earlier entry made a file;
//  - a symlink needs a target; a relative target that climbs above the root
//    from the link's directory is refused, as Docker refuses it ("invalid
//    symlink"); absolute targets stay (images rely on /usr/bin/python3 ->
//    /usr/bin/python3.11), and resolve inside the root whenever bld follows
//    them (openat2 RESOLVE_IN_ROOT in the applier);
//  - a hard link's target is cleaned the same way and must be an earlier
//    entry of the layer that is not a directory: Docker writes hard links so,
//    and under overlayfs each layer is unpacked alone, so nothing else is
//    there to link to. A hard link to a symlink is that symlink again;
//  - whiteouts (".wh.<name>") for "", "." or ".." are refused; AUFS metadata
//    (".wh..wh.*" other than the opaque marker) is skipped, as Docker does;
//  - entry types other than files, directories, symlinks, hard links,
//    devices and fifos are refused;
//  - an empty stream, or one that is not a tar or ends early, is refused with
//    libarchive's reason and the last entry read.
// What depends on the filesystem the layer lands on (a symlink of a lower
// layer met on the way, ownership, xattrs) is the applier's to handle.
//
// Thread safety: a LayerReader belongs to one thread (it sets that thread's
// locale to C.UTF-8 for its lifetime, so names keep their bytes);
// VerifyLayer keeps no state.
#pragma once

#include <archive_entry.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "store/archive_handles.h"
#include "store/archive_reader.h"
#include "store/compression.h"
#include "store/digest.h"

namespace bld::store {

// One entry that passed the rules.
struct LayerEntry {
  enum class Kind {
    kDirectory,
    kFile,
    kSymlink,
    kHardLink,
    kSpecial,   // a device node or fifo
    kWhiteout,  // `path` is what it deletes
    kOpaque,    // `path` is the directory it empties of lower layers' content
  };
  Kind kind = Kind::kFile;
  std::string name;  // as the tar spells it
  std::string path;  // clean and relative to the root; "" is the root
  std::string link;  // a hard link's clean target
  std::string what;  // `layer entry "<name>"`, for messages
  archive_entry* entry = nullptr;  // libarchive's, valid until the next Next()
};

// What a whole layer stream was.
struct LayerSummary {
  Digest diff_id;  // sha256 of the decompressed stream
  uint64_t size = 0;  // decompressed bytes
  Compression compression = Compression::kNone;  // as detected
};

class LayerReader {
 public:
  // `tap`, when given, receives every decompressed byte in order.
  explicit LayerReader(const ByteSource& source, ByteSink tap = nullptr);
  ~LayerReader();
  LayerReader(const LayerReader&) = delete;
  LayerReader& operator=(const LayerReader&) = delete;

  // The next entry, checked; nullptr after the last. What the previous
  // entry's content was not read of is skipped. Throws bld::Error naming the
  // entry and the rule it breaks, or the tar's damage.
  const LayerEntry* Next();

  // The current file entry's content, a block at a time with its offset in
  // the file (a sparse file leaves holes); false at its end.
  bool ReadBlock(const void** block, size_t* size, int64_t* offset);

  // After Next() returned nullptr: reads what follows the end of the tar
  // (padding), so that the diffID covers the whole stream, as the config's
  // diff_ids do.
  LayerSummary Finish();

 private:
  class Stream;
  // Fills in the entry's kind and paths; false for an entry to skip.
  bool Check(LayerEntry& e);
  void Remember(const LayerEntry& e);

  ScopedUtf8Ctype utf8_;
  std::unique_ptr<Stream> stream_;
  ArchiveReader tar_;  // reads from stream_
  LayerEntry current_;
  // What earlier entries made at each path: the rules look through it.
  // Transparent, so that prefixes of a path are looked up without copies.
  std::map<std::string, LayerEntry::Kind, std::less<>> made_;
};

// Clean layer paths ("" is the root): "a/b" + "c" -> "a/b/c", and back.
std::string JoinLayerPath(const std::string& dir, std::string_view name);
std::pair<std::string, std::string> SplitLayerPath(const std::string& path);

// Reads the whole layer through the rules without writing anything.
// Throws bld::Error as LayerReader does.
LayerSummary VerifyLayer(const ByteSource& layer, const ByteSink& tap = nullptr);

}  // namespace bld::store
