// `bld build --cache-to/--cache-from SPEC`: BuildKit's cache syntax, and
// every spec bld does not carry out refused with the key or value named.
#include "builder/cache_spec.h"

#include <catch2/catch.hpp>

#include "store/error.h"

using bld::builder::CacheMode;
using bld::builder::CacheSpec;
using bld::builder::CacheType;
using bld::builder::ParseCacheExport;
using bld::builder::ParseCacheImport;

namespace {

// The message `parse` throws for `spec`; empty when it parses.
std::string ErrorOf(CacheSpec (*parse)(const std::string&), const std::string& spec) {
  try {
    parse(spec);
  } catch (const bld::Error& e) {
    return e.what();
  }
  return "";
}

std::string ExportError(const std::string& spec) { return ErrorOf(ParseCacheExport, spec); }
std::string ImportError(const std::string& spec) { return ErrorOf(ParseCacheImport, spec); }

}  // namespace

TEST_CASE("cache-to type=registry takes a ref, a mode, a compression, oci-mediatypes and ignore-error") {
  CacheSpec spec = ParseCacheExport(
      "type=registry,ref=reg.example:5000/app/cache:main,mode=max,compression=zstd,oci-mediatypes=true,"
      "ignore-error=true");
  CHECK(spec.type == CacheType::kRegistry);
  CHECK(spec.ref == "reg.example:5000/app/cache:main");
  CHECK(spec.mode == CacheMode::kMax);
  CHECK(spec.compression == bld::store::Compression::kZstd);
  CHECK(spec.ignore_error);
}

TEST_CASE("cache-to defaults to mode=min, the build's compression and errors that fail the build") {
  CacheSpec spec = ParseCacheExport("type=registry,ref=r/app:cache");
  CHECK(spec.mode == CacheMode::kMin);
  CHECK_FALSE(spec.compression.has_value());
  CHECK_FALSE(spec.ignore_error);
  CHECK(ParseCacheExport("type=local,dest=/tmp/c,compression=gzip").compression == bld::store::Compression::kGzip);
  CHECK(ParseCacheExport("type=local,dest=/tmp/c,compression=uncompressed").compression ==
        bld::store::Compression::kNone);
}

TEST_CASE("cache-to type=local takes a dest directory") {
  CacheSpec spec = ParseCacheExport("type=local,dest=/ci/cache,mode=max");
  CHECK(spec.type == CacheType::kLocal);
  CHECK(spec.dir == "/ci/cache");
  CHECK(spec.mode == CacheMode::kMax);
}

TEST_CASE("cache-to type=inline takes no keys") {
  CHECK(ParseCacheExport("type=inline").type == CacheType::kInline);
  CHECK(ExportError("type=inline,mode=max") == "--cache-to type=inline,mode=max: type=inline takes no mode= (it takes no keys)");
}

TEST_CASE("cache-from REF is short for type=registry,ref=REF") {
  CacheSpec spec = ParseCacheImport("reg.example/app:latest");
  CHECK(spec.type == CacheType::kRegistry);
  CHECK(spec.ref == "reg.example/app:latest");
}

TEST_CASE("cache-from takes type=registry with a ref and type=local with a src") {
  CHECK(ParseCacheImport("type=registry,ref=r/app:cache").ref == "r/app:cache");
  CacheSpec local = ParseCacheImport("type=local,src=/ci/cache");
  CHECK(local.type == CacheType::kLocal);
  CHECK(local.dir == "/ci/cache");
}

TEST_CASE("a cache type bld does not have is refused, naming the types it has") {
  CHECK(ExportError("type=gha") == "--cache-to type=gha: type=gha is not supported by bld: use registry, local, inline");
  CHECK(ImportError("type=s3,bucket=b") == "--cache-from type=s3,bucket=b: type=s3 is not supported by bld: use registry, local");
  CHECK_THAT(ImportError("type=inline"),
             Catch::Contains("type=inline is not supported by bld") &&
                 Catch::Contains("--cache-from type=registry,ref=IMAGE"));
}

TEST_CASE("a cache key the type does not take is refused, naming the keys it takes") {
  CHECK(ExportError("type=local,dest=d,ref=r/a") ==
        "--cache-to type=local,dest=d,ref=r/a: type=local takes no ref= (it takes compression=, dest=, ignore-error=, "
        "mode=, oci-mediatypes=)");
  CHECK_THAT(ExportError("type=registry,ref=r/a,image-manifest=true"), Catch::Contains("takes no image-manifest="));
  CHECK_THAT(ImportError("type=registry,ref=r/a,mode=max"), Catch::Contains("type=registry takes no mode= (it takes ref=)"));
  CHECK_THAT(ImportError("type=local,src=d,dest=e"), Catch::Contains("type=local takes no dest= (it takes src=)"));
}

TEST_CASE("a cache spec without its ref, dest or src is refused") {
  CHECK(ExportError("type=registry") == "--cache-to type=registry: type=registry needs ref=REF");
  CHECK(ExportError("type=local") == "--cache-to type=local: type=local needs dest=DIR");
  CHECK(ImportError("type=local") == "--cache-from type=local: type=local needs src=DIR");
  CHECK(ImportError("type=registry,mode=min").find("takes no mode=") != std::string::npos);
}

TEST_CASE("a cache value outside its set is refused") {
  CHECK(ExportError("type=local,dest=d,mode=all") == "--cache-to type=local,dest=d,mode=all: mode=all: use mode=min or mode=max");
  CHECK(ExportError("type=local,dest=d,compression=estargz") ==
        "--cache-to type=local,dest=d,compression=estargz: compression=estargz: use gzip, zstd or uncompressed");
  CHECK(ExportError("type=local,dest=d,ignore-error=yes") ==
        "--cache-to type=local,dest=d,ignore-error=yes: ignore-error=yes: use ignore-error=true or ignore-error=false");
  CHECK(ExportError("type=local,dest=d,oci-mediatypes=false") ==
        "--cache-to type=local,dest=d,oci-mediatypes=false: oci-mediatypes=false: bld writes its cache with OCI media "
        "types only");
}

TEST_CASE("a cache spec without type=, with a bare field, an empty value or a key given twice is refused") {
  CHECK(ExportError("") == "--cache-to needs a value: type=...");
  CHECK(ExportError("ref=r/a") == "--cache-to ref=r/a: type= is missing: use type=registry, local, inline");
  CHECK(ExportError("r/a") == "--cache-to r/a: \"r/a\" is not key=value (use type=...)");
  CHECK(ImportError("type=registry,r/a") ==
        "--cache-from type=registry,r/a: \"r/a\" is not key=value (write --cache-from REF alone for "
        "type=registry,ref=REF)");
  CHECK(ExportError("type=local,dest=") == "--cache-to type=local,dest=: dest= needs a value");
  CHECK(ExportError("type=local,dest=a,dest=b") == "--cache-to type=local,dest=a,dest=b: dest= is given twice");
}
