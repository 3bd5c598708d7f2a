#include "store/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "store/error.h"
#include "store/layer_applier.h"

namespace fs = std::filesystem;
using bld::store::Compression;
using bld::store::LayerInfo;
using bld::store::LayerWriteOptions;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "bld-layer-writer-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
  REQUIRE(chmod(path.c_str(), mode) == 0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void SetTime(const std::string& path, time_t seconds, long nanoseconds = 0) {
  timespec times[2] = {{seconds, nanoseconds}, {seconds, nanoseconds}};
  REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

struct Blob {
  std::string bytes;
  LayerInfo info;
};

LayerWriteOptions Options(Compression c = Compression::kNone) {
  LayerWriteOptions options;
  options.compression = c;
  return options;
}

bld::store::ByteSink AppendTo(std::string& out) {
  return [&out](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
}

Blob FromDirectory(const std::string& dir, const LayerWriteOptions& options = Options()) {
  Blob blob;
  blob.info = bld::store::WriteLayerFromDirectory(dir, options, AppendTo(blob.bytes));
  return blob;
}

Blob FromUpper(const std::string& dir, const LayerWriteOptions& options = Options()) {
  Blob blob;
  blob.info = bld::store::WriteLayerFromOverlayUpper(dir, options, AppendTo(blob.bytes));
  return blob;
}

struct Entry {
  std::string name;
  mode_t mode = 0;  // type and permission bits
  int64_t uid = 0, gid = 0;
  std::string uname, gname;
  int64_t mtime = 0;
  long mtime_nsec = 0;
  bool atime_set = false, ctime_set = false;
  std::string content, symlink, hardlink;
  unsigned rdev_major = 0, rdev_minor = 0;
  std::map<std::string, std::string> xattrs;
};

// Every entry of a (possibly compressed) tar, read with libarchive.
std::vector<Entry> ListTar(const std::string& blob) {
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_filter_all(a);
  REQUIRE(archive_read_open_memory(a, blob.data(), blob.size()) == ARCHIVE_OK);
  std::vector<Entry> entries;
  archive_entry* e;
  int rc;
  // ARCHIVE_WARN: a name that is not UTF-8, read as bytes.
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    Entry entry;
    entry.name = archive_entry_pathname(e);
    entry.mode = archive_entry_mode(e);
    entry.uid = archive_entry_uid(e);
    entry.gid = archive_entry_gid(e);
    if (archive_entry_uname(e)) entry.uname = archive_entry_uname(e);
    if (archive_entry_gname(e)) entry.gname = archive_entry_gname(e);
    entry.mtime = archive_entry_mtime(e);
    entry.mtime_nsec = archive_entry_mtime_nsec(e);
    entry.atime_set = archive_entry_atime_is_set(e);
    entry.ctime_set = archive_entry_ctime_is_set(e);
    if (archive_entry_symlink(e)) entry.symlink = archive_entry_symlink(e);
    if (archive_entry_hardlink(e)) entry.hardlink = archive_entry_hardlink(e);
    entry.rdev_major = archive_entry_rdevmajor(e);
    entry.rdev_minor = archive_entry_rdevminor(e);
    archive_entry_xattr_reset(e);
    const char* key;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK)
      entry.xattrs[key] = std::string(static_cast<const char*>(value), size);
    char buffer[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buffer, sizeof(buffer))) > 0) entry.content.append(buffer, n);
    REQUIRE(n == 0);
    entries.push_back(std::move(entry));
  }
  REQUIRE(rc == ARCHIVE_EOF);
  archive_read_free(a);
  return entries;
}

std::vector<std::string> Names(const std::vector<Entry>& entries) {
  std::vector<std::string> names;
  for (const Entry& e : entries) names.push_back(e.name);
  return names;
}

const Entry& Find(const std::vector<Entry>& entries, const std::string& name) {
  for (const Entry& e : entries)
    if (e.name == name) return e;
  FAIL("no entry " << name);
  throw;
}

std::string Sha256Hex(const std::string& data) { return bld::store::Sha256::Of(data).str(); }

std::string Decompress(const std::string& blob) {
  size_t pos = 0;
  bld::store::DecompressingReader reader([&](void* out, size_t size) {
    size_t n = std::min(size, blob.size() - pos);
    std::memcpy(out, blob.data() + pos, n);
    pos += n;
    return n;
  });
  std::string out;
  char buffer[65536];
  while (size_t n = reader.Read(buffer, sizeof(buffer))) out.append(buffer, n);
  return out;
}

const std::string kCapability("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);

// A tree with one of everything, with fixed times.
void BuildSampleTree(const std::string& root) {
  WriteFile(root + "/bin/tool", "#!/bin/sh\necho tool\n", 04755);
  REQUIRE(setxattr((root + "/bin/tool").c_str(), "security.capability", kCapability.data(), kCapability.size(), 0) == 0);
  WriteFile(root + "/etc/config", "key=value\n", 0640);
  REQUIRE(chown((root + "/etc/config").c_str(), 1000, 2000) == 0);
  REQUIRE(setxattr((root + "/etc/config").c_str(), "user.note", "hello", 5, 0) == 0);
  REQUIRE(link((root + "/bin/tool").c_str(), (root + "/bin/tool-alias").c_str()) == 0);
  REQUIRE(symlink("../bin/tool", (root + "/etc/tool-link").c_str()) == 0);
  REQUIRE(symlink("/nonexistent/absolute", (root + "/etc/dangling").c_str()) == 0);
  fs::create_directories(root + "/tmp");
  REQUIRE(chmod((root + "/tmp").c_str(), 01777) == 0);
  fs::create_directories(root + "/empty");
  REQUIRE(mkfifo((root + "/etc/fifo").c_str(), 0600) == 0);
  REQUIRE(mknod((root + "/etc/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  WriteFile(root + "/big", std::string(3 << 20, 'b'));
  for (const char* p : {"bin/tool", "etc/config", "etc/tool-link", "etc/dangling", "etc/fifo", "etc/null", "big",
                        "bin", "etc", "tmp", "empty"})
    SetTime(root + "/" + p, 1600000000);
}

}  // namespace

TEST_CASE("a directory tree is written in tree order with parents first", "[layer_writer]") {
  TempDir dir;
  WriteFile(dir / "a/b/c", "c");
  WriteFile(dir / "a-b", "dash");
  WriteFile(dir / "a/z", "z");
  WriteFile(dir / "B", "upper case sorts first");
  fs::create_directories(dir / "a/b/d");
  auto entries = ListTar(FromDirectory(dir.path()).bytes);
  CHECK(Names(entries) == std::vector<std::string>{"B", "a/", "a/b/", "a/b/c", "a/b/d/", "a/z", "a-b"});
  CHECK(Find(entries, "a/b/c").content == "c");
}

TEST_CASE("files, directories, symlinks, fifos and devices keep their type and metadata", "[layer_writer]") {
  TempDir dir;
  BuildSampleTree(dir.path());
  auto entries = ListTar(FromDirectory(dir.path()).bytes);
  const Entry& tool = Find(entries, "bin/tool");
  CHECK(tool.mode == (S_IFREG | 04755));
  CHECK(tool.content == "#!/bin/sh\necho tool\n");
  CHECK(Find(entries, "tmp/").mode == (S_IFDIR | 01777));
  CHECK(Find(entries, "etc/config").mode == (S_IFREG | 0640));
  CHECK(Find(entries, "etc/tool-link").symlink == "../bin/tool");
  CHECK(Find(entries, "etc/dangling").symlink == "/nonexistent/absolute");
  CHECK(S_ISFIFO(Find(entries, "etc/fifo").mode));
  const Entry& null = Find(entries, "etc/null");
  CHECK(S_ISCHR(null.mode));
  CHECK(null.rdev_major == 1);
  CHECK(null.rdev_minor == 3);
  CHECK(Find(entries, "big").content.size() == (3u << 20));
}

TEST_CASE("owners are numeric ids without user or group names", "[layer_writer]") {
  TempDir dir;
  BuildSampleTree(dir.path());
  auto entries = ListTar(FromDirectory(dir.path()).bytes);
  for (const Entry& e : entries) {
    INFO(e.name);
    CHECK(e.uname.empty());
    CHECK(e.gname.empty());
  }
  const Entry& config = Find(entries, "etc/config");
  CHECK(config.uid == 1000);
  CHECK(config.gid == 2000);
}

TEST_CASE("hard links are written once, then as hard-link entries to the first path", "[layer_writer]") {
  TempDir dir;
  BuildSampleTree(dir.path());
  auto entries = ListTar(FromDirectory(dir.path()).bytes);
  CHECK(Find(entries, "bin/tool").hardlink.empty());
  const Entry& alias = Find(entries, "bin/tool-alias");
  CHECK(alias.hardlink == "bin/tool");
  CHECK(alias.content.empty());
}

TEST_CASE("extended attributes are kept, security.capability included, overlay ones dropped", "[layer_writer]") {
  TempDir dir;
  BuildSampleTree(dir.path());
  REQUIRE(setxattr((dir / "etc").c_str(), "trusted.overlay.origin", "x", 1, 0) == 0);
  REQUIRE(setxattr((dir / "etc").c_str(), "trusted.bld", "kept", 4, 0) == 0);
  auto entries = ListTar(FromDirectory(dir.path()).bytes);
  CHECK(Find(entries, "bin/tool").xattrs == std::map<std::string, std::string>{{"security.capability", kCapability}});
  CHECK(Find(entries, "etc/config").xattrs == std::map<std::string, std::string>{{"user.note", "hello"}});
  CHECK(Find(entries, "etc/").xattrs == std::map<std::string, std::string>{{"trusted.bld", "kept"}});
}

TEST_CASE("times are whole seconds, without atime or ctime", "[layer_writer]") {
  TempDir dir;
  WriteFile(dir / "f", "x");
  SetTime(dir / "f", 1600000000, 987654321);
  auto entries = ListTar(FromDirectory(dir.path()).bytes);
  const Entry& f = Find(entries, "f");
  CHECK(f.mtime == 1600000000);
  CHECK(f.mtime_nsec == 0);
  CHECK_FALSE(f.atime_set);
  CHECK_FALSE(f.ctime_set);
}

TEST_CASE("SOURCE_DATE_EPOCH clamps later times and keeps earlier ones", "[layer_writer]") {
  TempDir dir;
  WriteFile(dir / "old", "x");
  WriteFile(dir / "new", "y");
  SetTime(dir / "old", 1000);
  SetTime(dir / "new", 2000000000);
  LayerWriteOptions options = Options();
  options.source_date_epoch = 1700000000;
  auto entries = ListTar(FromDirectory(dir.path(), options).bytes);
  CHECK(Find(entries, "old").mtime == 1000);
  CHECK(Find(entries, "new").mtime == 1700000000);
}

TEST_CASE("the same tree gives the same bytes, wherever it is", "[layer_writer]") {
  TempDir a, b;
  BuildSampleTree(a.path());
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    INFO(bld::store::CompressionName(c));
    Blob first = FromDirectory(a.path(), Options(c));
    Blob second = FromDirectory(a.path(), Options(c));
    CHECK(first.bytes == second.bytes);
    CHECK(first.info.digest == second.info.digest);
  }
  // A copy has other inodes, another path and (for directories) new times:
  // with SOURCE_DATE_EPOCH earlier than every time, only content matters.
  REQUIRE(std::system(("cp -a " + a.path() + "/. " + b.path()).c_str()) == 0);
  LayerWriteOptions options = Options(Compression::kGzip);
  options.source_date_epoch = 1500000000;
  Blob original = FromDirectory(a.path(), options);
  Blob copy = FromDirectory(b.path(), options);
  CHECK(original.info.diff_id == copy.info.diff_id);
  CHECK(original.info.digest == copy.info.digest);
}

TEST_CASE("diffID and digest are the sha256 of the tar and of the blob", "[layer_writer]") {
  TempDir dir;
  BuildSampleTree(dir.path());
  struct Case {
    Compression compression;
    std::string_view media_type;
  };
  for (Case c : {Case{Compression::kNone, bld::store::kMediaTypeLayerTar},
                 Case{Compression::kGzip, bld::store::kMediaTypeLayerGzip},
                 Case{Compression::kZstd, bld::store::kMediaTypeLayerZstd}}) {
    INFO(bld::store::CompressionName(c.compression));
    Blob blob = FromDirectory(dir.path(), Options(c.compression));
    std::string tar = Decompress(blob.bytes);
    CHECK(blob.info.diff_id.str() == Sha256Hex(tar));
    CHECK(blob.info.digest.str() == Sha256Hex(blob.bytes));
    CHECK(blob.info.uncompressed_size == tar.size());
    CHECK(blob.info.compressed_size == blob.bytes.size());
    CHECK(blob.info.media_type == c.media_type);
    if (c.compression == Compression::kNone) CHECK(blob.info.diff_id == blob.info.digest);
  }
}

TEST_CASE("an overlay upper dir turns 0/0 devices into whiteouts and opaque dirs into markers", "[layer_writer]") {
  TempDir upper;
  WriteFile(upper / "etc/new", "new");
  REQUIRE(mknod((upper / "etc/gone").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0);
  fs::create_directories(upper / "var/cache");
  REQUIRE(setxattr((upper / "var/cache").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  WriteFile(upper / "var/cache/fresh", "fresh");
  WriteFile(upper / "var/cache/-dash", "sorts before the marker's dot");
  // A real device other than 0/0 stays a device.
  REQUIRE(mknod((upper / "etc/tty").c_str(), S_IFCHR | 0620, makedev(5, 0)) == 0);
  auto entries = ListTar(FromUpper(upper.path()).bytes);
  CHECK(Names(entries) == std::vector<std::string>{"etc/", "etc/.wh.gone", "etc/new", "etc/tty", "var/", "var/cache/",
                                                   "var/cache/.wh..wh..opq", "var/cache/-dash", "var/cache/fresh"});
  const Entry& whiteout = Find(entries, "etc/.wh.gone");
  CHECK(whiteout.mode == (S_IFREG | 0600));
  CHECK(whiteout.content.empty());
  CHECK(whiteout.mtime == 0);
  CHECK(S_ISREG(Find(entries, "var/cache/.wh..wh..opq").mode));
  CHECK(Find(entries, "var/cache/").xattrs.empty());
  CHECK(S_ISCHR(Find(entries, "etc/tty").mode));
}

TEST_CASE("the same directory written as a plain tree keeps devices and drops overlay xattrs", "[layer_writer]") {
  TempDir dir;
  REQUIRE(mknod((dir / "zero").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0);
  fs::create_directories(dir / "d");
  REQUIRE(setxattr((dir / "d").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  auto entries = ListTar(FromDirectory(dir.path()).bytes);
  CHECK(Names(entries) == std::vector<std::string>{"d/", "zero"});
  CHECK(Find(entries, "d/").xattrs.empty());
}

TEST_CASE("an upper dir with redirected or metacopy entries is refused", "[layer_writer]") {
  TempDir upper;
  fs::create_directories(upper / "renamed");
  REQUIRE(setxattr((upper / "renamed").c_str(), "trusted.overlay.redirect", "/old", 4, 0) == 0);
  CHECK_THROWS_WITH(FromUpper(upper.path()), Catch::Contains("trusted.overlay.redirect") &&
                                                 Catch::Contains("redirect_dir=off"));
  TempDir upper2;
  WriteFile(upper2 / "f", "");
  REQUIRE(setxattr((upper2 / "f").c_str(), "trusted.overlay.metacopy", "", 0, 0) == 0);
  CHECK_THROWS_WITH(FromUpper(upper2.path()), Catch::Contains("metacopy"));
}

TEST_CASE("a source file named like a whiteout is refused", "[layer_writer]") {
  TempDir dir;
  WriteFile(dir / "etc/.wh.passwd", "");
  CHECK_THROWS_WITH(FromDirectory(dir.path()), Catch::Contains(".wh.passwd") && Catch::Contains("reserved"));
}

TEST_CASE("sockets are skipped", "[layer_writer]") {
  TempDir dir;
  WriteFile(dir / "f", "x");
  REQUIRE(mknod((dir / "sock").c_str(), S_IFSOCK | 0600, 0) == 0);
  CHECK(Names(ListTar(FromDirectory(dir.path()).bytes)) == std::vector<std::string>{"f"});
}

TEST_CASE("names that are not UTF-8 are kept as bytes", "[layer_writer]") {
  TempDir dir;
  std::string name = "caf\xe9-latin1";
  WriteFile(dir / name, "x");
  WriteFile(dir / "caf\xc3\xa9-utf8", "y");
  auto names = Names(ListTar(FromDirectory(dir.path()).bytes));
  CHECK(names == std::vector<std::string>{"caf\xc3\xa9-utf8", name});
}

TEST_CASE("long names and large ids go into PAX records", "[layer_writer]") {
  TempDir dir;
  std::string deep = "d" + std::string(120, 'x') + "/" + std::string(200, 'y');
  WriteFile(dir / deep, "deep");
  REQUIRE(chown((dir / deep).c_str(), 3000000, 4000000) == 0);
  auto entries = ListTar(FromDirectory(dir.path()).bytes);
  const Entry& e = Find(entries, deep);
  CHECK(e.content == "deep");
  CHECK(e.uid == 3000000);
  CHECK(e.gid == 4000000);
}

TEST_CASE("an error in the sink stops the write and reaches the caller", "[layer_writer]") {
  TempDir dir;
  WriteFile(dir / "big", std::string(1 << 20, 'x'));
  auto full_disk = [](const void*, size_t) { throw bld::Error("disk full"); };
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    CHECK_THROWS_WITH(bld::store::WriteLayerFromDirectory(dir.path(), Options(c), full_disk), "disk full");
  }
}

TEST_CASE("gzip and zstd layers round-trip through the applier", "[layer_writer]") {
  TempDir dir, out;
  BuildSampleTree(dir.path());
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    INFO(bld::store::CompressionName(c));
    Blob blob = FromDirectory(dir.path(), Options(c));
    std::string target = out / std::string(bld::store::CompressionName(c));
    fs::create_directories(target);
    size_t pos = 0;
    auto result = bld::store::ApplyLayer(
        [&](void* p, size_t n) {
          n = std::min(n, blob.bytes.size() - pos);
          std::memcpy(p, blob.bytes.data() + pos, n);
          pos += n;
          return n;
        },
        target);
    CHECK(result.compression == c);
    CHECK(result.diff_id == blob.info.diff_id);
    CHECK(ReadFile(target + "/bin/tool") == "#!/bin/sh\necho tool\n");
    // Written again from the unpacked copy: the same layer.
    LayerWriteOptions options = Options(c);
    options.source_date_epoch = 1600000000;
    CHECK(FromDirectory(target, options).info.diff_id == FromDirectory(dir.path(), options).info.diff_id);
  }
}
