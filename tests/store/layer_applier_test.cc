#include "store/layer_applier.h"

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
#include <sstream>
#include <string>

#include "store/error.h"
#include "store/layer_writer.h"

namespace fs = std::filesystem;
using bld::store::ApplyMode;
using bld::store::ApplyResult;
using bld::store::Compression;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "bld-layer-applier-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    // Read-only directories in an applied tree would stop remove_all.
    std::system(("chmod -R u+rwx " + path_ + " 2>/dev/null").c_str());
    fs::remove_all(path_);
  }
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

void SetTime(const std::string& path, time_t seconds) {
  timespec times[2] = {{seconds, 0}, {seconds, 0}};
  REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::string GetXattr(const std::string& path, const char* name) {
  char value[256];
  ssize_t n = lgetxattr(path.c_str(), name, value, sizeof(value));
  return n < 0 ? std::string("<none>") : std::string(value, n);
}

ApplyResult Apply(const std::string& blob, const std::string& target, ApplyMode mode = ApplyMode::kPlain) {
  size_t pos = 0;
  bld::store::ApplyOptions options;
  options.mode = mode;
  return bld::store::ApplyLayer(
      [&](void* p, size_t n) {
        n = std::min(n, blob.size() - pos);
        std::memcpy(p, blob.data() + pos, n);
        pos += n;
        return n;
      },
      target, options);
}

std::string LayerOf(const std::string& dir, Compression c = Compression::kNone) {
  std::string blob;
  bld::store::LayerWriteOptions options;
  options.compression = c;
  bld::store::WriteLayerFromDirectory(dir, options,
                                      [&](const void* p, size_t n) { blob.append(static_cast<const char*>(p), n); });
  return blob;
}

// A tar built entry by entry, for layers the writer would never produce.
class TarBuilder {
 public:
  TarBuilder() : a_(archive_write_new()) {
    archive_write_set_format_pax(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    archive_write_open(a_, this, nullptr, &TarBuilder::Write, nullptr);
  }
  ~TarBuilder() { archive_write_free(a_); }

  TarBuilder& Dir(const std::string& name, mode_t mode = 0755, time_t mtime = 1600000000) {
    return Add(name, AE_IFDIR, mode, "", mtime);
  }
  TarBuilder& File(const std::string& name, const std::string& content, mode_t mode = 0644) {
    return Add(name, AE_IFREG, mode, content);
  }
  TarBuilder& Hardlink(const std::string& name, const std::string& target) {
    return Add(name, AE_IFREG, 0644, "", 1600000000,
               [&](archive_entry* e) { archive_entry_copy_hardlink(e, target.c_str()); });
  }
  TarBuilder& SymlinkWithXattr(const std::string& name, const std::string& target, const std::string& key,
                               const std::string& value) {
    return Add(name, AE_IFLNK, 0777, "", 1600000000, [&](archive_entry* e) {
      archive_entry_copy_symlink(e, target.c_str());
      archive_entry_xattr_add_entry(e, key.c_str(), value.data(), value.size());
    });
  }
  std::string Finish() {
    archive_write_close(a_);
    return out_;
  }

 private:
  template <typename Extra = void (*)(archive_entry*)>
  TarBuilder& Add(const std::string& name, mode_t type, mode_t mode, const std::string& content,
                  time_t mtime = 1600000000, Extra extra = [](archive_entry*) {}) {
    archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_mtime(e, mtime, 0);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    extra(e);
    REQUIRE(archive_write_header(a_, e) == ARCHIVE_OK);
    if (!content.empty()) archive_write_data(a_, content.data(), content.size());
    archive_entry_free(e);
    return *this;
  }
  static la_ssize_t Write(archive*, void* self, const void* p, size_t n) {
    static_cast<TarBuilder*>(self)->out_.append(static_cast<const char*>(p), n);
    return static_cast<la_ssize_t>(n);
  }
  archive* a_;
  std::string out_;
};

// Everything about a tree that a layer carries, one line per path; hard
// links show as the first path of their inode.
std::map<std::string, std::string> Describe(const std::string& root) {
  std::map<std::string, std::string> lines;
  std::map<std::pair<dev_t, ino_t>, std::string> inodes;
  std::vector<std::string> paths;
  for (const auto& e : fs::recursive_directory_iterator(root)) paths.push_back(e.path().string());
  std::sort(paths.begin(), paths.end());
  for (const std::string& path : paths) {
    struct stat st;
    REQUIRE(lstat(path.c_str(), &st) == 0);
    std::ostringstream line;
    line << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid;
    line << " mtime=" << st.st_mtim.tv_sec;
    if (S_ISREG(st.st_mode)) line << " content=" << bld::store::Sha256::Of(ReadFile(path)).Short();
    if (S_ISLNK(st.st_mode)) line << " -> " << fs::read_symlink(path).string();
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) line << " dev=" << major(st.st_rdev) << "," << minor(st.st_rdev);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, first] = inodes.try_emplace({st.st_dev, st.st_ino}, fs::path(path).lexically_relative(root).string());
      line << " inode-of=" << it->second;
    }
    char names[4096];
    ssize_t n = llistxattr(path.c_str(), names, sizeof(names));
    std::vector<std::string> keys;
    for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(names + i)) + 1) keys.emplace_back(names + i);
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) line << " " << key << "=" << GetXattr(path, key.c_str());
    lines[fs::path(path).lexically_relative(root).string()] = line.str();
  }
  return lines;
}

const std::string kCapability("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);

void BuildSampleTree(const std::string& root) {
  WriteFile(root + "/usr/bin/ping", "ping binary", 04755);
  REQUIRE(setxattr((root + "/usr/bin/ping").c_str(), "security.capability", kCapability.data(), kCapability.size(),
                   0) == 0);
  WriteFile(root + "/usr/bin/sgid", "sgid binary", 02711);
  REQUIRE(chown((root + "/usr/bin/sgid").c_str(), 0, 42) == 0);
  REQUIRE(chmod((root + "/usr/bin/sgid").c_str(), 02711) == 0);
  WriteFile(root + "/home/user/notes", "notes", 0600);
  REQUIRE(chown((root + "/home/user/notes").c_str(), 1000, 1000) == 0);
  REQUIRE(chown((root + "/home/user").c_str(), 1000, 1000) == 0);
  REQUIRE(setxattr((root + "/home/user/notes").c_str(), "user.mime", "text/plain", 10, 0) == 0);
  REQUIRE(link((root + "/usr/bin/ping").c_str(), (root + "/usr/bin/ping6").c_str()) == 0);
  REQUIRE(symlink("/usr/bin/ping", (root + "/ping").c_str()) == 0);
  REQUIRE(lchown((root + "/ping").c_str(), 7, 8) == 0);
  fs::create_directories(root + "/tmp");
  REQUIRE(chmod((root + "/tmp").c_str(), 01777) == 0);
  fs::create_directories(root + "/readonly/sub");
  WriteFile(root + "/readonly/sub/file", "inside a read-only dir");
  REQUIRE(chmod((root + "/readonly").c_str(), 0555) == 0);
  REQUIRE(mkfifo((root + "/fifo").c_str(), 0640) == 0);
  REQUIRE(mknod((root + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  REQUIRE(mknod((root + "/disk").c_str(), S_IFBLK | 0660, makedev(8, 0)) == 0);
  WriteFile(root + "/large", std::string(5 << 20, 'L'));
  for (const auto& e : fs::recursive_directory_iterator(root)) SetTime(e.path().string(), 1600000123);
  SetTime(root + "/readonly", 1600000123);
}

}  // namespace

TEST_CASE("a round trip keeps content, modes, owners, times, xattrs and links", "[layer_applier]") {
  TempDir src, dst;
  BuildSampleTree(src.path());
  ApplyResult result = Apply(LayerOf(src.path()), dst.path());
  CHECK(Describe(dst.path()) == Describe(src.path()));
  CHECK(result.warnings.empty());
  // Directory times too, although creating their children changed them.
  struct stat st;
  REQUIRE(stat((dst / "readonly").c_str(), &st) == 0);
  CHECK(st.st_mtim.tv_sec == 1600000123);
  CHECK((st.st_mode & 07777) == 0555);
}

TEST_CASE("the result reports the diffID, size and compression of the stream", "[layer_applier]") {
  TempDir src, dst;
  WriteFile(src / "f", "content");
  std::string tar = LayerOf(src.path());
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    TempDir target;
    ApplyResult result = Apply(LayerOf(src.path(), c), target.path());
    CHECK(result.compression == c);
    CHECK(result.diff_id == bld::store::Sha256::Of(tar));
    CHECK(result.uncompressed_size == tar.size());
  }
}

TEST_CASE("plain mode: a whiteout deletes a file or a whole directory", "[layer_applier]") {
  TempDir root;
  WriteFile(root / "etc/passwd", "root");
  WriteFile(root / "var/cache/a/b", "deep");
  Apply(TarBuilder().Dir("etc").File("etc/.wh.passwd", "").File(".wh.var", "").File(".wh.missing", "").Finish(),
        root.path());
  CHECK_FALSE(Exists(root / "etc/passwd"));
  CHECK_FALSE(Exists(root / "var"));
  CHECK_FALSE(Exists(root / "etc/.wh.passwd"));
  CHECK(Exists(root / "etc"));
}

TEST_CASE("plain mode: an opaque marker removes what lower layers had, not this layer's files", "[layer_applier]") {
  TempDir root;
  WriteFile(root / "app/old", "lower");
  WriteFile(root / "app/sub/old", "lower");
  WriteFile(root / "app/sub/kept-by-name", "lower");
  // The marker after some of the new content: the order must not matter.
  Apply(TarBuilder()
            .Dir("app")
            .File("app/new", "upper")
            .Dir("app/sub")
            .File("app/.wh..wh..opq", "")
            .File("app/sub/kept-by-name", "upper")
            .Finish(),
        root.path());
  CHECK(ReadFile(root / "app/new") == "upper");
  CHECK_FALSE(Exists(root / "app/old"));
  CHECK_FALSE(Exists(root / "app/sub/old"));
  CHECK(ReadFile(root / "app/sub/kept-by-name") == "upper");
  CHECK_FALSE(Exists(root / "app/.wh..wh..opq"));
}

TEST_CASE("overlay mode: whiteouts become 0/0 devices and opaque dirs get the overlay xattr", "[layer_applier]") {
  TempDir layer;
  ApplyResult result = Apply(TarBuilder()
                                 .Dir("etc")
                                 .File("etc/.wh.passwd", "")
                                 .Dir("app")
                                 .File("app/.wh..wh..opq", "")
                                 .File("app/new", "upper")
                                 .File("gone/.wh.deep", "")
                                 .Finish(),
                             layer.path(), ApplyMode::kOverlay);
  struct stat st;
  REQUIRE(lstat((layer / "etc/passwd").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == makedev(0, 0));
  CHECK(GetXattr(layer / "app", "trusted.overlay.opaque") == "y");
  CHECK(ReadFile(layer / "app/new") == "upper");
  CHECK(lstat((layer / "gone/deep").c_str(), &st) == 0);
  CHECK_FALSE(Exists(layer / "etc/.wh.passwd"));
  CHECK_FALSE(Exists(layer / "app/.wh..wh..opq"));
  CHECK(result.warnings.empty());
}

TEST_CASE("an overlay upper dir unpacked in overlay mode is the same upper dir again", "[layer_applier]") {
  TempDir upper, layer;
  WriteFile(upper / "etc/new", "new");
  REQUIRE(mknod((upper / "etc/gone").c_str(), S_IFCHR, makedev(0, 0)) == 0);
  fs::create_directories(upper / "cache");
  REQUIRE(setxattr((upper / "cache").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  for (const char* p : {"etc/new", "etc/gone", "etc", "cache"}) SetTime(upper / p, 1600000000);
  std::string blob;
  bld::store::WriteLayerFromOverlayUpper(upper.path(), {},
                                         [&](const void* p, size_t n) { blob.append(static_cast<const char*>(p), n); });
  Apply(blob, layer.path(), ApplyMode::kOverlay);
  auto described = Describe(layer.path());
  auto expected = Describe(upper.path());
  // Whiteouts carry no metadata: compare their type only.
  CHECK(described["etc/gone"].substr(0, 6) == expected["etc/gone"].substr(0, 6));
  described.erase("etc/gone");
  expected.erase("etc/gone");
  CHECK(described == expected);
}

TEST_CASE("a directory entry over an existing directory keeps its content", "[layer_applier]") {
  TempDir root;
  WriteFile(root / "etc/hostname", "lower");
  Apply(TarBuilder().Dir("etc", 0700).File("etc/added", "upper").Finish(), root.path());
  CHECK(ReadFile(root / "etc/hostname") == "lower");
  CHECK(ReadFile(root / "etc/added") == "upper");
  CHECK((fs::status(root / "etc").permissions() & fs::perms::all) == fs::perms::owner_all);
}

TEST_CASE("an entry replaces whatever has its name, directories included", "[layer_applier]") {
  TempDir root;
  WriteFile(root / "was-dir/child", "x");
  WriteFile(root / "was-file", "x");
  REQUIRE(symlink("/etc", (root / "was-link").c_str()) == 0);
  Apply(TarBuilder().File("was-dir", "now a file").Dir("was-file").File("was-link", "now a file").Finish(),
        root.path());
  CHECK(ReadFile(root / "was-dir") == "now a file");
  CHECK(fs::is_directory(root / "was-file"));
  CHECK(fs::is_regular_file(fs::symlink_status(root / "was-link")));
}

TEST_CASE("writing a file never changes another hard link of the file it replaces", "[layer_applier]") {
  TempDir root;
  Apply(TarBuilder().File("original", "original").Hardlink("alias", "original").File("alias", "replaced").Finish(),
        root.path());
  CHECK(ReadFile(root / "original") == "original");
  CHECK(ReadFile(root / "alias") == "replaced");
}

TEST_CASE("missing parent directories are created with mode 0755", "[layer_applier]") {
  TempDir root;
  Apply(TarBuilder().File("a/b/c/file", "x").Finish(), root.path());
  CHECK(ReadFile(root / "a/b/c/file") == "x");
  CHECK((fs::status(root / "a/b").permissions() & fs::perms::all) ==
        (fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
         fs::perms::others_exec));
}

TEST_CASE("a \"./\" entry sets the target directory's own metadata", "[layer_applier]") {
  TempDir root;
  Apply(TarBuilder().Dir("./", 0710, 1234567890).File("./f", "x").Finish(), root.path());
  struct stat st;
  REQUIRE(stat(root.path().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0710);
  CHECK(st.st_mtim.tv_sec == 1234567890);
  CHECK(ReadFile(root / "f") == "x");
}

TEST_CASE("a tar made by GNU tar applies like one made by bld", "[layer_applier]") {
  TempDir src, dst, work;
  BuildSampleTree(src.path());
  std::string tar_path = work / "gnu.tar";
  REQUIRE(std::system(("tar --xattrs --xattrs-include='*' --numeric-owner -C " + src.path() + " -cf " + tar_path +
                       " .")
                          .c_str()) == 0);
  Apply(ReadFile(tar_path), dst.path());
  CHECK(Describe(dst.path()) == Describe(src.path()));
}

TEST_CASE("an empty layer changes nothing", "[layer_applier]") {
  TempDir root;
  WriteFile(root / "kept", "x");
  ApplyResult result = Apply(std::string(1024, '\0'), root.path());
  CHECK(ReadFile(root / "kept") == "x");
  CHECK(result.diff_id == bld::store::Sha256::Of(std::string(1024, '\0')));
}

TEST_CASE("an extended attribute the filesystem refuses is a warning, not a failure", "[layer_applier]") {
  TempDir root;
  // Linux allows no user.* xattrs on symlinks.
  ApplyResult result =
      Apply(TarBuilder().SymlinkWithXattr("link", "target", "user.note", "x").File("f", "x").Finish(), root.path());
  CHECK(fs::is_symlink(fs::symlink_status(root / "link")));
  REQUIRE(result.warnings.size() == 1);
  CHECK_THAT(result.warnings[0], Catch::Contains("extended attributes") && Catch::Contains("\"link\""));
}
