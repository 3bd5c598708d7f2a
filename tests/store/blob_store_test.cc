#include "store/blob_store.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "store/error.h"

namespace fs = std::filesystem;
using bld::Error;
using bld::store::BlobInfo;
using bld::store::BlobStore;
using bld::store::BlobWriter;
using bld::store::Digest;
using bld::store::Sha256;

namespace {

class TempRoot {
 public:
  TempRoot() {
    std::string tmpl = "/tmp/bld-blob-store-test-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempRoot() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

size_t CountFiles(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A file holding `content` that no writer owns: what a killed bld leaves.
void PlantLeftover(const std::string& root, const std::string& name, const std::string& content) {
  std::ofstream(root + "/ingest/" + name, std::ios::binary) << content;
}

}  // namespace

TEST_CASE("a streamed blob is stored under the digest of its content") {
  TempRoot root;
  BlobStore blobs(root.path());
  BlobWriter writer = blobs.NewWriter();
  std::string content;
  for (int i = 0; i < 1000; ++i) {
    std::string chunk = "chunk " + std::to_string(i) + "\n";
    writer.Write(chunk);
    content += chunk;
  }
  BlobInfo info = writer.Commit();

  CHECK(info.digest == Sha256::Of(content));
  CHECK(info.size == content.size());
  CHECK(blobs.Path(info.digest) == root.path() + "/blobs/sha256/" + std::string(info.digest.hex()));
  CHECK(ReadFile(blobs.Path(info.digest)) == content);
  CHECK(blobs.Size(info.digest) == content.size());
  CHECK(CountFiles(root.path() + "/ingest") == 0);
}

TEST_CASE("a blob whose content does not match the expected digest leaves nothing in blobs or ingest") {
  TempRoot root;
  BlobStore blobs(root.path());
  Digest expected = Sha256::Of("what the registry promised");
  BlobWriter writer = blobs.NewWriter();
  writer.Write("what the registry sent");

  CHECK_THROWS_WITH(writer.Commit(expected),
                    Catch::Contains("does not match") && Catch::Contains(expected.str()) &&
                        Catch::Contains(Sha256::Of("what the registry sent").str()));
  CHECK(CountFiles(root.path() + "/blobs/sha256") == 0);
  CHECK(CountFiles(root.path() + "/ingest") == 0);
}

TEST_CASE("a blob is invisible until its commit") {
  TempRoot root;
  BlobStore blobs(root.path());
  std::string content = "a layer, arriving slowly";
  Digest digest = Sha256::Of(content);
  BlobWriter writer = blobs.NewWriter();
  writer.Write(content.substr(0, 10));
  CHECK_FALSE(blobs.Exists(digest));
  writer.Write(content.substr(10));
  CHECK_FALSE(blobs.Exists(digest));
  CHECK(CountFiles(root.path() + "/blobs/sha256") == 0);

  writer.Commit(digest);
  CHECK(blobs.Exists(digest));
}

TEST_CASE("a writer destroyed without commit removes its ingest file") {
  TempRoot root;
  BlobStore blobs(root.path());
  {
    BlobWriter writer = blobs.NewWriter();
    writer.Write("abandoned halfway");
    CHECK(CountFiles(root.path() + "/ingest") == 1);
  }
  CHECK(CountFiles(root.path() + "/ingest") == 0);
  CHECK(CountFiles(root.path() + "/blobs/sha256") == 0);
}

TEST_CASE("Put names a small blob by its computed digest") {
  TempRoot root;
  BlobStore blobs(root.path());
  BlobInfo info = blobs.Put("{\"config\":1}");
  CHECK(info.digest == Sha256::Of("{\"config\":1}"));
  CHECK(info.size == 12);
  CHECK(blobs.ReadAll(info.digest, 100) == "{\"config\":1}");
}

TEST_CASE("Put with a wrong expected digest stores nothing") {
  TempRoot root;
  BlobStore blobs(root.path());
  CHECK_THROWS_WITH(blobs.Put("tampered", Sha256::Of("original")), Catch::Contains("does not match"));
  CHECK(blobs.List().empty());
  CHECK(CountFiles(root.path() + "/ingest") == 0);
}

TEST_CASE("writing a blob that exists keeps the existing file but still checks the content") {
  TempRoot root;
  BlobStore blobs(root.path());
  std::string content = "shared base layer";
  Digest digest = blobs.Put(content).digest;
  struct stat before;
  REQUIRE(::stat(blobs.Path(digest).c_str(), &before) == 0);

  BlobWriter again = blobs.NewWriter();
  again.Write(content);
  CHECK(again.Commit(digest).digest == digest);
  CHECK(blobs.Put(content).digest == digest);

  // A writer claiming an existing digest for other content is still refused.
  BlobWriter liar = blobs.NewWriter();
  liar.Write("not the shared base layer");
  CHECK_THROWS_WITH(liar.Commit(digest), Catch::Contains("does not match"));

  struct stat after;
  REQUIRE(::stat(blobs.Path(digest).c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino);
  CHECK(ReadFile(blobs.Path(digest)) == content);
  CHECK(CountFiles(root.path() + "/ingest") == 0);
}

TEST_CASE("committed blobs are read-only files") {
  TempRoot root;
  BlobStore blobs(root.path());
  Digest digest = blobs.Put("immutable").digest;
  struct stat st;
  REQUIRE(::stat(blobs.Path(digest).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0444);
}

TEST_CASE("Open streams a blob's content") {
  TempRoot root;
  BlobStore blobs(root.path());
  std::string content(200000, 'x');
  Digest digest = blobs.Put(content).digest;
  bld::store::BlobReader reader = blobs.Open(digest);
  CHECK(reader.size() == content.size());
  std::string read;
  char buffer[4096];
  while (size_t n = reader.Read(buffer, sizeof buffer)) read.append(buffer, n);
  CHECK(read == content);
}

TEST_CASE("a missing blob is reported with its digest and the store root") {
  TempRoot root;
  BlobStore blobs(root.path());
  Digest digest = Sha256::Of("never stored");
  CHECK_FALSE(blobs.Exists(digest));
  CHECK_FALSE(blobs.Size(digest).has_value());
  CHECK_THROWS_WITH(blobs.Open(digest), Catch::Contains(digest.str()) && Catch::Contains(root.path()) &&
                                            Catch::Contains("not in the store"));
}

TEST_CASE("ReadAll refuses a blob larger than the limit") {
  TempRoot root;
  BlobStore blobs(root.path());
  Digest digest = blobs.Put(std::string(1025, 'm')).digest;
  CHECK(blobs.ReadAll(digest, 1025).size() == 1025);
  CHECK_THROWS_WITH(blobs.ReadAll(digest, 1024), Catch::Contains("1025 bytes") && Catch::Contains("1024"));
}

TEST_CASE("a blob whose content no longer matches its name fails Verify and ReadAll") {
  TempRoot root;
  BlobStore blobs(root.path());
  Digest digest = blobs.Put("{\"good\":true}").digest;
  CHECK(blobs.Verify(digest));

  // Disk corruption or tampering behind bld's back.
  fs::permissions(blobs.Path(digest), fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(blobs.Path(digest), std::ios::binary) << "{\"good\":false}";
  CHECK_FALSE(blobs.Verify(digest));
  CHECK_THROWS_WITH(blobs.ReadAll(digest, 100), Catch::Contains("corrupt") && Catch::Contains(digest.str()));
}

TEST_CASE("Remove deletes a blob and reports whether it was there") {
  TempRoot root;
  BlobStore blobs(root.path());
  Digest digest = blobs.Put("short-lived").digest;
  CHECK(blobs.Remove(digest));
  CHECK_FALSE(blobs.Exists(digest));
  CHECK_FALSE(blobs.Remove(digest));
}

TEST_CASE("List returns every blob, sorted, and ignores foreign files") {
  TempRoot root;
  BlobStore blobs(root.path());
  Digest a = blobs.Put("a").digest;
  Digest b = blobs.Put("b").digest;
  Digest c = blobs.Put("c").digest;
  std::ofstream(root.path() + "/blobs/sha256/not-a-digest") << "x";
  std::vector<Digest> expected{a, b, c};
  std::sort(expected.begin(), expected.end());
  CHECK(blobs.List() == expected);
}

TEST_CASE("ingest leftovers of dead writers are listed and removed while live writers are kept") {
  TempRoot root;
  BlobStore blobs(root.path());
  PlantLeftover(root.path(), "dead1", "half a layer");
  PlantLeftover(root.path(), "dead2", "another");
  BlobWriter live = blobs.NewWriter();
  live.Write("still downloading");

  auto leftovers = blobs.ListIngestLeftovers();
  REQUIRE(leftovers.size() == 2);
  CHECK(leftovers[0].path == root.path() + "/ingest/dead1");
  CHECK(leftovers[0].size == 12);
  CHECK(CountFiles(root.path() + "/ingest") == 3);

  auto removed = blobs.RemoveIngestLeftovers();
  CHECK(removed.size() == 2);
  CHECK(CountFiles(root.path() + "/ingest") == 1);
  CHECK(blobs.ListIngestLeftovers().empty());

  Digest digest = live.Commit().digest;
  CHECK(blobs.ReadAll(digest, 100) == "still downloading");
}

TEST_CASE("a writer killed mid-write leaves blobs untouched and a leftover that prune removes") {
  TempRoot root;
  BlobStore blobs(root.path());
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      BlobWriter writer = blobs.NewWriter();
      writer.Write(std::string(100000, 'l'));
      if (::write(ready[1], "w", 1) == 1) ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(ready[1]);
  char byte;
  ssize_t n = ::read(ready[0], &byte, 1);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(ready[0]);
  REQUIRE(n == 1);

  CHECK(blobs.List().empty());
  auto removed = blobs.RemoveIngestLeftovers();
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].size == 100000);
  CHECK(CountFiles(root.path() + "/ingest") == 0);
}
