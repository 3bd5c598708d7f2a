// Image references, one rule per test case, as docker applies them.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "registry/reference.h"
#include "store/error.h"

using bld::registry::FamiliarMatch;
using bld::registry::Reference;

namespace {

const std::string kDigest = "sha256:" + std::string(64, 'f');

}  // namespace

TEST_CASE("a one-word name is an official image on Docker Hub") {
  Reference ref = Reference::ParseNormalizedNamed("helloworld");
  CHECK(ref.domain() == "docker.io");
  CHECK(ref.path() == "library/helloworld");
  CHECK(ref.String() == "docker.io/library/helloworld");
  CHECK(Reference::ParseNormalizedNamed("helloworld:v1").String() == "docker.io/library/helloworld:v1");
}

TEST_CASE("a lowercase first component without '.' or ':' is a Docker Hub namespace") {
  Reference ref = Reference::ParseNormalizedNamed("geektime/helloworld:v1");
  CHECK(ref.domain() == "docker.io");
  CHECK(ref.path() == "geektime/helloworld");
  CHECK(ref.tag() == "v1");
  CHECK(Reference::ParseNormalizedNamed("library/ubuntu").String() == "docker.io/library/ubuntu");
}

TEST_CASE("docker.io and index.docker.io both name Docker Hub and get the library/ prefix") {
  CHECK(Reference::ParseNormalizedNamed("docker.io/ubuntu").String() == "docker.io/library/ubuntu");
  CHECK(Reference::ParseNormalizedNamed("index.docker.io/ubuntu").String() == "docker.io/library/ubuntu");
  CHECK(Reference::ParseNormalizedNamed("index.docker.io/u/app").String() == "docker.io/u/app");
}

TEST_CASE("localhost is always a registry, and other registries get no library/ prefix") {
  Reference ref = Reference::ParseNormalizedNamed("localhost/app");
  CHECK(ref.domain() == "localhost");
  CHECK(ref.path() == "app");
  CHECK(ref.FamiliarName() == "localhost/app");
}

TEST_CASE("a first component with a dot or a port is a registry domain") {
  Reference port = Reference::ParseNormalizedNamed("localhost:5000/team/app:v1");
  CHECK(port.domain() == "localhost:5000");
  CHECK(port.path() == "team/app");
  CHECK(port.tag() == "v1");
  CHECK(Reference::ParseNormalizedNamed("registry.example.com/app").domain() == "registry.example.com");
  CHECK(Reference::ParseNormalizedNamed("192.168.1.1:5000/app").domain() == "192.168.1.1:5000");
  CHECK(Reference::ParseNormalizedNamed("[::1]:5000/app").domain() == "[::1]:5000");
  CHECK_THROWS_WITH(Reference::Parse("[fe80::1%eth0]:5000/app"), "invalid reference format");
}

TEST_CASE("a first component with uppercase letters is taken as a domain") {
  Reference ref = Reference::ParseNormalizedNamed("Foo/bar");
  CHECK(ref.domain() == "Foo");
  CHECK(ref.path() == "bar");
}

TEST_CASE("without a '/', name:number is a tag, not a port") {
  Reference ref = Reference::Parse("localhost:5000");
  CHECK(ref.domain().empty());
  CHECK(ref.path() == "localhost");
  CHECK(ref.tag() == "5000");
}

TEST_CASE("repository paths must be lowercase but tags need not be") {
  CHECK_THROWS_WITH(Reference::Parse("Uppercase:tag"), "repository name must be lowercase");
  CHECK_THROWS_WITH(Reference::ParseNormalizedNamed("docker/Docker"),
                    "invalid reference format: repository name (docker/Docker) must be lowercase");
  CHECK_THROWS_WITH(Reference::ParseNormalizedNamed("Ubuntu"),
                    "invalid reference format: repository name (library/Ubuntu) must be lowercase");
  CHECK(Reference::Parse("lowercase:Uppercase").tag() == "Uppercase");
}

TEST_CASE("malformed names are an invalid reference format") {
  for (const char* bad : {":tag", "a//b", "-a/b", "a-/b", "a..b", "a/", "https://host/x", "a:b:c", "a@b"}) {
    INFO(bad);
    CHECK_THROWS_WITH(Reference::Parse(bad), "invalid reference format");
  }
  CHECK_THROWS_WITH(Reference::Parse(""), "repository name must have at least one component");
}

TEST_CASE("the 255-character limit applies to the path, not the domain") {
  CHECK(Reference::Parse("example.com/" + std::string(255, 'a')).path().size() == 255);
  CHECK_THROWS_WITH(Reference::Parse("example.com/" + std::string(256, 'a')),
                    "repository name must not be more than 255 characters");
  // library/ counts: 250 characters become a 258-character path.
  CHECK_THROWS_WITH(Reference::ParseNormalizedNamed(std::string(250, 'a')),
                    "repository name must not be more than 255 characters");
  CHECK_THROWS_WITH(Reference::WithName("x.io/" + std::string(256, 'a')),
                    "repository name must not be more than 255 characters");
}

TEST_CASE("a tag is at most 128 word characters, dots and dashes") {
  CHECK(Reference::Parse("a:" + std::string(128, 't')).tag().size() == 128);
  CHECK_THROWS_WITH(Reference::Parse("a:" + std::string(129, 't')), "invalid reference format");
  CHECK_THROWS_WITH(Reference::Parse("a:.tag"), "invalid reference format");
}

TEST_CASE("a reference keeps both a tag and a digest") {
  Reference ref = Reference::Parse("example.com/app:v1@" + kDigest);
  CHECK(ref.tag() == "v1");
  CHECK(ref.digest() == kDigest);
  CHECK(ref.String() == "example.com/app:v1@" + kDigest);
}

TEST_CASE("a digest in a reference must be a well-formed sha256 digest") {
  CHECK_THROWS_WITH(Reference::Parse("a@sha256:" + std::string(32, 'f')), "invalid checksum digest length");
  CHECK_THROWS_WITH(Reference::Parse("a@sha256:" + std::string(64, 'F')), "invalid checksum digest format");
  CHECK_THROWS_WITH(Reference::Parse("a@sha512:" + std::string(128, 'f')), "unsupported digest algorithm");
  CHECK_THROWS_WITH(Reference::Parse("a@Sha256:" + std::string(64, 'f')), "invalid checksum digest format");
  CHECK_THROWS_WITH(Reference::Parse("a@sha256:abc"), "invalid reference format");
}

TEST_CASE("ParseDockerRef adds :latest and lets a digest win over a tag") {
  CHECK(Reference::ParseDockerRef("busybox").String() == "docker.io/library/busybox:latest");
  CHECK(Reference::ParseDockerRef("busybox:1.36").String() == "docker.io/library/busybox:1.36");
  CHECK(Reference::ParseDockerRef("busybox:1.36@" + kDigest).String() == "docker.io/library/busybox@" + kDigest);
}

TEST_CASE("ParseNamed accepts only the canonical form") {
  CHECK(Reference::ParseNamed("docker.io/library/ubuntu:22.04").tag() == "22.04");
  CHECK_THROWS_WITH(Reference::ParseNamed("ubuntu"), "repository name must be canonical");
}

TEST_CASE("a bare 64-hex string is an image ID, not a repository name") {
  std::string id(64, 'a');
  CHECK_THROWS_WITH(Reference::ParseNormalizedNamed(id),
                    "invalid repository name (" + id + "), cannot specify 64-byte hexadecimal strings");
  Reference any = Reference::ParseAnyReference(id);
  CHECK(any.name().empty());
  CHECK(any.digest() == "sha256:" + id);
  CHECK(any.String() == "sha256:" + id);
  CHECK(any.FamiliarString() == "sha256:" + id);
  CHECK(Reference::ParseAnyReference(std::string(63, 'a')).String() == "docker.io/library/" + std::string(63, 'a'));
}

TEST_CASE("familiar forms drop docker.io and a one-level library/ only") {
  CHECK(Reference::ParseNormalizedNamed("ubuntu").FamiliarName() == "ubuntu");
  CHECK(Reference::ParseNormalizedNamed("u/app").FamiliarName() == "u/app");
  CHECK(Reference::ParseNormalizedNamed("library/a/b").FamiliarName() == "library/a/b");
  CHECK(Reference::ParseNormalizedNamed("gcr.io/library/a").FamiliarName() == "gcr.io/library/a");
  CHECK(Reference::ParseNormalizedNamed("ubuntu:22.04@" + kDigest).FamiliarString() == "ubuntu:22.04@" + kDigest);
}

TEST_CASE("WithTag and WithDigest replace one part and keep the other") {
  Reference ref = Reference::WithName("example.com/app").WithTag("v1").WithDigest(kDigest);
  CHECK(ref.String() == "example.com/app:v1@" + kDigest);
  CHECK(ref.WithTag("v2").String() == "example.com/app:v2@" + kDigest);
  CHECK_THROWS_WITH(ref.WithTag("-v"), "invalid tag format");
  CHECK_THROWS_WITH(ref.WithDigest("sha256:short"), "invalid digest format");
  CHECK_THROWS_WITH(Reference::ParseAnyReference(kDigest).WithTag("v1"), "reference " + kDigest + " has no name");
}

TEST_CASE("RegistryHost sends Docker Hub traffic to registry-1.docker.io") {
  CHECK(Reference::ParseNormalizedNamed("ubuntu").RegistryHost() == "registry-1.docker.io");
  CHECK(Reference::Parse("index.docker.io/library/ubuntu").RegistryHost() == "registry-1.docker.io");
  CHECK(Reference::ParseNormalizedNamed("localhost:5000/app").RegistryHost() == "localhost:5000");
  CHECK(Reference::ParseNormalizedNamed("ghcr.io/o/app").RegistryHost() == "ghcr.io");
  CHECK_THROWS_WITH(Reference::Parse("ubuntu").RegistryHost(), "reference ubuntu names no registry");
}

TEST_CASE("FamiliarMatch matches familiar forms with Go's path.Match") {
  Reference ref = Reference::ParseNormalizedNamed("ubuntu:22.04");
  CHECK(FamiliarMatch("ubuntu", ref));
  CHECK(FamiliarMatch("ubuntu:*", ref));
  CHECK(FamiliarMatch("ub?ntu:2[0-9].04", ref));
  CHECK_FALSE(FamiliarMatch("[^u]*", ref));
  // '*' never crosses a '/'.
  CHECK_FALSE(FamiliarMatch("*", Reference::ParseNormalizedNamed("u/app")));
  CHECK(FamiliarMatch("u\\/app", Reference::ParseNormalizedNamed("u/app")));
  for (const char* bad : {"[", "[]", "[a-", "ubuntu\\", "[-x]", "x*[z"}) {
    INFO(bad);
    CHECK_THROWS_WITH(FamiliarMatch(bad, ref), "syntax error in pattern");
  }
}

TEST_CASE("hostile references are errors, never crashes") {
  std::string many_components;
  for (int i = 0; i < 100000; ++i) many_components += "a/";
  const std::vector<std::string> hostile_inputs = {
      std::string(1 << 20, 'a'),  // a megabyte of name
      std::string(1 << 20, '/'),
      many_components + "a",
      "a:" + std::string(1 << 20, 'b'),
      "a@sha256:" + std::string(1 << 20, 'f'),
      "[" + std::string(1 << 20, ':') + "/a",  // an unclosed IPv6 domain
      std::string("ubu\0ntu", 7),
      std::string("ubuntu\0", 7),
      "ubüntu",
      "🐳/whale",
      "\xff\xfe/app",
      "ubuntu:\xc3",
  };
  for (const std::string& hostile : hostile_inputs) {
    INFO("input of " << hostile.size() << " bytes");
    CHECK_THROWS_AS(Reference::Parse(hostile), bld::Error);
    CHECK_THROWS_AS(Reference::ParseNormalizedNamed(hostile), bld::Error);
    CHECK_THROWS_AS(Reference::ParseDockerRef(hostile), bld::Error);
    CHECK_THROWS_AS(Reference::WithName(hostile), bld::Error);
  }
  Reference ref = Reference::ParseNormalizedNamed("ubuntu");
  CHECK_THROWS_WITH(FamiliarMatch("[\xff]", ref), "syntax error in pattern");
  CHECK_FALSE(FamiliarMatch(std::string(1 << 16, '?'), ref));
}
