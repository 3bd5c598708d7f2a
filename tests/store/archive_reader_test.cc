// The shared libarchive reader: entries and content from any byte source,
// compressed input when asked for, the input's own exceptions, and errors
// that say where reading stopped.
#include "store/archive_reader.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/error.h"

using bld::store::ArchiveReader;
using bld::store::ByteSource;
using Format = ArchiveReader::Format;
using Filter = ArchiveReader::Filter;

namespace {

// A tar (optionally gzip-compressed) of regular files, made in memory.
std::string MakeTar(const std::vector<std::pair<std::string, std::string>>& files, bool gzip = false) {
  std::unique_ptr<archive, bld::store::ArchiveWriteDeleter> a(archive_write_new());
  REQUIRE(archive_write_set_format_pax_restricted(a.get()) == ARCHIVE_OK);
  if (gzip) REQUIRE(archive_write_add_filter_gzip(a.get()) == ARCHIVE_OK);
  std::string out(1 << 20, '\0');
  size_t used = 0;
  REQUIRE(archive_write_open_memory(a.get(), out.data(), out.size(), &used) == ARCHIVE_OK);
  for (const auto& [name, content] : files) {
    std::unique_ptr<archive_entry, bld::store::EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(content.size()));
    REQUIRE(archive_write_header(a.get(), e.get()) == ARCHIVE_OK);
    REQUIRE(archive_write_data(a.get(), content.data(), content.size()) == static_cast<la_ssize_t>(content.size()));
  }
  REQUIRE(archive_write_close(a.get()) == ARCHIVE_OK);
  out.resize(used);
  return out;
}

// Hands out `data` a few bytes at a time, to cross libarchive's blocks.
ByteSource StringSource(std::string data, size_t chunk = 7) {
  auto pos = std::make_shared<size_t>(0);
  return [data = std::move(data), pos, chunk](void* out, size_t size) -> size_t {
    size_t n = std::min({size, chunk, data.size() - *pos});
    std::memcpy(out, data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

std::string ReadAll(ArchiveReader& reader) {
  std::string content;
  char buffer[5];
  while (size_t n = reader.ReadData(buffer, sizeof buffer)) content.append(buffer, n);
  return content;
}

}  // namespace

TEST_CASE("a tar's entries and their content are read in order") {
  ArchiveReader reader(StringSource(MakeTar({{"a.txt", "first file"}, {"dir/b.txt", "second"}})), Format::kTar,
                       Filter::kNone, "test");
  REQUIRE(reader.Next() != nullptr);
  CHECK(reader.entry_name() == "a.txt");
  CHECK(ReadAll(reader) == "first file");
  REQUIRE(reader.Next() != nullptr);
  CHECK(reader.entry_name() == "dir/b.txt");
  CHECK(ReadAll(reader) == "second");
  CHECK(reader.Next() == nullptr);
  CHECK(reader.Next() == nullptr);
}

TEST_CASE("an entry's content may be skipped or read in blocks with their offsets") {
  ArchiveReader reader(StringSource(MakeTar({{"skipped", "not read"}, {"blocks", "read in blocks"}})), Format::kTar,
                       Filter::kNone, "test");
  REQUIRE(reader.Next() != nullptr);
  reader.SkipData();
  REQUIRE(reader.Next() != nullptr);
  std::string content;
  const void* data;
  size_t size;
  int64_t offset;
  while (reader.ReadBlock(&data, &size, &offset)) {
    CHECK(offset == static_cast<int64_t>(content.size()));
    content.append(static_cast<const char*>(data), size);
  }
  CHECK(content == "read in blocks");
}

TEST_CASE("with every filter enabled a gzip-compressed tar is read") {
  ArchiveReader reader(StringSource(MakeTar({{"z", "compressed"}}, true)), Format::kTar, Filter::kAll, "test");
  REQUIRE(reader.Next() != nullptr);
  CHECK(ReadAll(reader) == "compressed");
}

TEST_CASE("an empty input is refused as empty") {
  CHECK_THROWS_WITH(ArchiveReader(StringSource(""), Format::kTar, Filter::kNone, "test").Next(),
                    "test: it is empty, not a tar archive");
}

TEST_CASE("the caller may say in its own words that an input is empty") {
  CHECK_THROWS_WITH(
      ArchiveReader(StringSource(""), Format::kTar, Filter::kNone, "", "the layer is empty, not a tar archive").Next(),
      "the layer is empty, not a tar archive");
}

TEST_CASE("content cut short is refused, naming the entry it was in") {
  std::string tar = MakeTar({{"big", std::string(100000, 'b')}});
  ArchiveReader reader(StringSource(tar.substr(0, 50000), 4096), Format::kTar, Filter::kNone, "");
  REQUIRE(reader.Next() != nullptr);
  std::vector<char> buffer(8192);
  auto read_all = [&] {
    while (reader.ReadData(buffer.data(), buffer.size()) > 0) {
    }
  };
  CHECK_THROWS_WITH(read_all(), Catch::StartsWith("not a valid tar archive in the entry \"big\""));
}

TEST_CASE("what is not a tar is refused at its start, with the context first") {
  CHECK_THROWS_WITH(
      ArchiveReader(StringSource(std::string(2048, 'x')), Format::kTar, Filter::kNone, "build context tar").Next(),
      Catch::StartsWith("build context tar: not a valid tar archive at its start"));
}

TEST_CASE("a tar damaged after an entry names that entry") {
  std::string tar = MakeTar({{"good", "fine"}, {"second", "x"}});
  tar.replace(1024, 512, std::string(512, 'y'));  // the second entry's header
  ArchiveReader reader(StringSource(tar), Format::kTar, Filter::kNone, "");
  REQUIRE(reader.Next() != nullptr);
  CHECK_THROWS_WITH(reader.Next(), Catch::StartsWith("not a valid tar archive after the entry \"good\""));
}

TEST_CASE("an exception from the input reaches the caller unchanged") {
  ByteSource failing = [](void*, size_t) -> size_t { throw std::runtime_error("the disk went away"); };
  CHECK_THROWS_WITH(ArchiveReader(failing, Format::kTar, Filter::kNone, "test").Next(), "the disk went away");
}

TEST_CASE("the raw format hands a compressed stream through decompressed") {
  std::unique_ptr<archive, bld::store::ArchiveWriteDeleter> a(archive_write_new());
  REQUIRE(archive_write_add_filter_bzip2(a.get()) == ARCHIVE_OK);
  REQUIRE(archive_write_set_format_raw(a.get()) == ARCHIVE_OK);
  std::string out(65536, '\0');
  size_t used = 0;
  REQUIRE(archive_write_open_memory(a.get(), out.data(), out.size(), &used) == ARCHIVE_OK);
  std::unique_ptr<archive_entry, bld::store::EntryDeleter> e(archive_entry_new());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  REQUIRE(archive_write_header(a.get(), e.get()) == ARCHIVE_OK);
  REQUIRE(archive_write_data(a.get(), "plain bytes", 11) == 11);
  REQUIRE(archive_write_close(a.get()) == ARCHIVE_OK);
  out.resize(used);

  ArchiveReader reader(StringSource(out), Format::kRaw, Filter::kBzip2, "bzip2 stream");
  REQUIRE(reader.Next() != nullptr);
  CHECK(ReadAll(reader) == "plain bytes");
}

TEST_CASE("a descriptor is read to its end") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::string tar = MakeTar({{"piped", "through a pipe"}});
  std::thread writer([&] {
    [[maybe_unused]] ssize_t n = ::write(fds[1], tar.data(), tar.size());
    ::close(fds[1]);
  });
  ArchiveReader reader(bld::store::FdSource(fds[0], "the pipe"), Format::kTar, Filter::kNone, "test");
  REQUIRE(reader.Next() != nullptr);
  CHECK(ReadAll(reader) == "through a pipe");
  CHECK(reader.Next() == nullptr);
  writer.join();
  ::close(fds[0]);
}
