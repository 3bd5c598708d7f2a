// RUN --mount=type=cache directories: kept by id across leases, leased with
// BuildKit's sharing modes by flock (probed here on the lock files the
// store format names, runner/cache_mounts.h), listed and removed.
#include "runner/cache_mounts.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>

#include "store/digest.h"
#include "store/error.h"
#include "support/process.h"

namespace bld::testing {
namespace {

namespace fs = std::filesystem;
using runner::CacheLease;
using runner::CacheMounts;
using runner::CacheSharing;

struct CacheFixture {
  TempDir dir;
  std::unique_ptr<store::Store> store = store::Store::Open(dir.path());
  CacheMounts caches{*store};

  // The lock file of instance `n` of cache `id`.
  std::string InstanceLock(const std::string& id, int n) const {
    return store->cache_mounts_dir() + "/" + std::string(store::Sha256::Of(id).hex()) + "/" + std::to_string(n) +
           ".lock";
  }
};

// Whether another open file description could take the lock now.
bool Lockable(const std::string& path, int operation) {
  runner::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  REQUIRE(fd);
  return ::flock(fd.get(), operation | LOCK_NB) == 0;
}

}  // namespace

TEST_CASE("a cache keeps its files for the next lease of the same id, and only of that id") {
  CacheFixture f;
  std::string path;
  {
    CacheLease lease = f.caches.Acquire("apt", CacheSharing::kShared);
    CHECK(lease.fresh());
    path = lease.path();
    WriteFile(path + "/pkg.deb", "downloaded");
  }
  CacheLease again = f.caches.Acquire("apt", CacheSharing::kShared);
  CHECK_FALSE(again.fresh());
  CHECK(again.path() == path);
  CHECK(ReadFile(again.path() + "/pkg.deb") == "downloaded");
  CacheLease other = f.caches.Acquire("npm", CacheSharing::kShared);
  CHECK(other.fresh());
  CHECK(fs::is_empty(other.path()));
}

TEST_CASE("a new cache gets the mode and owner its mount asks for") {
  CacheFixture f;
  CacheLease lease = f.caches.Acquire("owned", CacheSharing::kShared, {0750, 1000, 2000});
  struct stat st;
  REQUIRE(::stat(lease.path().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
  CHECK(st.st_uid == 1000u);
  CHECK(st.st_gid == 2000u);
}

TEST_CASE("shared leases hold their cache together") {
  CacheFixture f;
  f.caches.Acquire("c", CacheSharing::kShared);  // made, then released
  CacheLease one = f.caches.Acquire("c", CacheSharing::kShared);
  CacheLease two = f.caches.Acquire("c", CacheSharing::kShared);
  CHECK(one.path() == two.path());
  CHECK(Lockable(f.InstanceLock("c", 0), LOCK_SH));
  CHECK_FALSE(Lockable(f.InstanceLock("c", 0), LOCK_EX));
}

TEST_CASE("a locked lease holds its cache alone until it ends") {
  CacheFixture f;
  f.caches.Acquire("c", CacheSharing::kLocked);
  {
    CacheLease lease = f.caches.Acquire("c", CacheSharing::kLocked);
    CHECK_FALSE(lease.fresh());
    CHECK_FALSE(Lockable(f.InstanceLock("c", 0), LOCK_SH));
  }
  CHECK(Lockable(f.InstanceLock("c", 0), LOCK_EX));
}

TEST_CASE("the lease that makes a cache holds it alone, to fill it first") {
  CacheFixture f;
  CacheLease lease = f.caches.Acquire("c", CacheSharing::kShared);
  REQUIRE(lease.fresh());
  CHECK_FALSE(Lockable(f.InstanceLock("c", 0), LOCK_SH));
}

TEST_CASE("a private lease gets an instance no other lease holds") {
  CacheFixture f;
  CacheLease one = f.caches.Acquire("c", CacheSharing::kPrivate);
  CacheLease two = f.caches.Acquire("c", CacheSharing::kPrivate);
  CHECK(one.path() != two.path());
  CHECK(two.fresh());
  std::string first = one.path();
  WriteFile(first + "/kept", "x");
  { CacheLease drop = std::move(one); }
  CacheLease three = f.caches.Acquire("c", CacheSharing::kPrivate);
  CHECK(three.path() == first);
  CHECK(fs::exists(first + "/kept"));
}

TEST_CASE("caches are listed with their instances, size and use") {
  CacheFixture f;
  {
    CacheLease a = f.caches.Acquire("a", CacheSharing::kShared);
    WriteFile(a.path() + "/f", std::string(100, 'x'));
  }
  CacheLease b = f.caches.Acquire("b", CacheSharing::kPrivate);
  CacheLease b2 = f.caches.Acquire("b", CacheSharing::kPrivate);
  std::vector<runner::CacheMountInfo> list = f.caches.List();
  REQUIRE(list.size() == 2);
  CHECK(list[0].id == "a");
  CHECK(list[0].instances == 1);
  CHECK(list[0].size == 100);
  CHECK_FALSE(list[0].in_use);
  CHECK(list[1].id == "b");
  CHECK(list[1].instances == 2);
  CHECK(list[1].in_use);
}

TEST_CASE("a cache in use is neither removed nor pruned; one not in use is") {
  CacheFixture f;
  f.caches.Acquire("idle", CacheSharing::kShared);
  std::optional<CacheLease> busy = f.caches.Acquire("busy", CacheSharing::kShared);
  CHECK_THROWS_WITH(f.caches.Remove("busy"), Catch::Contains("in use by a running build"));
  std::vector<runner::CacheMountInfo> pruned = f.caches.Prune();
  REQUIRE(pruned.size() == 1);
  CHECK(pruned[0].id == "idle");
  busy.reset();
  CHECK(f.caches.Remove("busy").id == "busy");
  CHECK(f.caches.List().empty());
  CHECK_THROWS_WITH(f.caches.Remove("busy"), Catch::Contains("no cache mount with id busy"));
}

TEST_CASE("a removed cache starts empty when it is used again") {
  CacheFixture f;
  {
    CacheLease lease = f.caches.Acquire("c", CacheSharing::kShared);
    WriteFile(lease.path() + "/old", "x");
  }
  f.caches.Remove("c");
  CacheLease lease = f.caches.Acquire("c", CacheSharing::kShared);
  CHECK(lease.fresh());
  CHECK(fs::is_empty(lease.path()));
}

}  // namespace bld::testing
