// Credentials in docker's config.json: read, stored and erased as docker does.
#include "registry/credentials.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "store/error.h"
#include "support/process.h"

using bld::registry::ConvertToHostname;
using bld::registry::CredentialKey;
using bld::registry::Credentials;
using bld::registry::DecodeAuth;
using bld::registry::DockerConfig;
using bld::registry::EncodeAuth;
using bld::testing::ReadFile;
using bld::testing::TempDir;
using bld::testing::WriteFile;
using nlohmann::json;

namespace {

// Puts `dir` first in PATH for one test.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& dir) : old_(std::getenv("PATH") ? std::getenv("PATH") : "") {
    setenv("PATH", (dir + ":" + old_).c_str(), 1);
  }
  ~ScopedPath() { setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

// A docker-credential-<name> that keeps one entry in a file beside it.
void WriteHelper(const TempDir& bin, const std::string& name) {
  std::string store = bin / (name + ".store");
  WriteFile(bin / ("docker-credential-" + name),
            "#!/bin/sh\n"
            "case \"$1\" in\n"
            "get) read url; if [ -f " + store + " ]; then cat " + store + "; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n"
            "store) cat > " + store + " ;;\n"
            "erase) read url; if [ -f " + store + " ]; then rm " + store + "; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n"
            "esac\n");
  chmod((bin / ("docker-credential-" + name)).c_str(), 0755);
}

}  // namespace

TEST_CASE("auth is base64 of user:password, and the password may hold colons") {
  CHECK(EncodeAuth("user", "pa:ss") == "dXNlcjpwYTpzcw==");
  CHECK(DecodeAuth("dXNlcjpwYTpzcw==") == std::pair<std::string, std::string>("user", "pa:ss"));
  CHECK_THROWS_AS(DecodeAuth("not base64!"), bld::Error);
  CHECK_THROWS_AS(DecodeAuth("dXNlcg=="), bld::Error);  // "user": no colon
}

TEST_CASE("Docker Hub's names share the legacy key, other registries are keyed by host") {
  CHECK(CredentialKey("docker.io") == "https://index.docker.io/v1/");
  CHECK(CredentialKey("index.docker.io") == "https://index.docker.io/v1/");
  CHECK(CredentialKey("registry-1.docker.io") == "https://index.docker.io/v1/");
  CHECK(CredentialKey("https://index.docker.io/v1/") == "https://index.docker.io/v1/");
  CHECK(CredentialKey("127.0.0.1:5000") == "127.0.0.1:5000");
  CHECK(CredentialKey("https://registry.example.com/v2/") == "registry.example.com");
  CHECK(ConvertToHostname("http://host:5000/path") == "host:5000");
}

TEST_CASE("credentials are read from auths, also under a key written as a URL") {
  TempDir dir;
  WriteFile(dir / "config.json", json({{"auths",
                                        {{"https://registry.example.com/v2/", {{"auth", EncodeAuth("alice", "pw")}}},
                                         {"https://index.docker.io/v1/",
                                          {{"auth", EncodeAuth("bob", "")}, {"identitytoken", "refresh-123"}}}}}})
                                     .dump());
  DockerConfig config(dir.path());
  auto c = config.Get("registry.example.com");
  REQUIRE(c);
  CHECK(c->username == "alice");
  CHECK(c->password == "pw");
  auto hub = config.Get("registry-1.docker.io");
  REQUIRE(hub);
  CHECK(hub->identity_token == "refresh-123");
  CHECK_FALSE(config.Get("other.example.com"));
}

TEST_CASE("a missing config file means no credentials, a malformed one is an error") {
  TempDir dir;
  CHECK_FALSE(DockerConfig(dir.path()).Get("127.0.0.1:5000"));
  WriteFile(dir / "config.json", "{not json");
  CHECK_THROWS_WITH(DockerConfig(dir.path()).Get("127.0.0.1:5000"), Catch::Contains("config.json"));
}

TEST_CASE("storing credentials keeps the file's other keys and makes it mode 0600") {
  TempDir dir;
  WriteFile(dir / "config.json",
            R"({"auths":{"other.example.com":{"auth":"b3RoZXI6cHc="}},"psFormat":"table {{.ID}}","proxies":{"default":{}}})");
  chmod((dir / "config.json").c_str(), 0644);
  DockerConfig config(dir.path());
  CHECK(config.Store("127.0.0.1:5000", {"alice", "secret", ""}) == DockerConfig::Location::kFile);
  struct stat st;
  REQUIRE(stat((dir / "config.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  json written = json::parse(ReadFile(dir / "config.json"));
  CHECK(written["psFormat"] == "table {{.ID}}");
  CHECK(written["proxies"] == json::parse(R"({"default":{}})"));
  CHECK(written["auths"]["other.example.com"]["auth"] == "b3RoZXI6cHc=");
  CHECK(written["auths"]["127.0.0.1:5000"]["auth"] == EncodeAuth("alice", "secret"));
  CHECK(config.Get("127.0.0.1:5000")->password == "secret");
}

TEST_CASE("the config directory is created with mode 0700 when missing") {
  TempDir dir;
  DockerConfig config(dir / "fresh/.docker");
  config.Store("docker.io", {"u", "p", ""});
  struct stat st;
  REQUIRE(stat((dir / "fresh/.docker").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(json::parse(ReadFile(dir / "fresh/.docker/config.json"))["auths"].contains("https://index.docker.io/v1/"));
}

TEST_CASE("an identity token is stored beside the user name, without the password") {
  TempDir dir;
  DockerConfig config(dir.path());
  config.Store("127.0.0.1:5000", {"alice", "", "refresh-xyz"});
  json written = json::parse(ReadFile(dir / "config.json"));
  CHECK(written["auths"]["127.0.0.1:5000"]["identitytoken"] == "refresh-xyz");
  CHECK(written["auths"]["127.0.0.1:5000"]["auth"] == EncodeAuth("alice", ""));
}

TEST_CASE("erasing removes the host's entries, including URL forms of its key") {
  TempDir dir;
  WriteFile(dir / "config.json",
            json({{"auths", {{"127.0.0.1:5000", {{"auth", "YTpi"}}}, {"https://127.0.0.1:5000", {{"auth", "YTpi"}}},
                             {"keep.example.com", {{"auth", "YTpi"}}}}}})
                .dump());
  DockerConfig config(dir.path());
  CHECK(config.Erase("127.0.0.1:5000"));
  json written = json::parse(ReadFile(dir / "config.json"));
  CHECK(written["auths"].size() == 1);
  CHECK(written["auths"].contains("keep.example.com"));
  CHECK_FALSE(config.Erase("127.0.0.1:5000"));
}

TEST_CASE("credsStore sends credentials through the helper program") {
  TempDir bin, dir;
  WriteHelper(bin, "bldtest");
  ScopedPath path(bin.path());
  WriteFile(dir / "config.json", R"({"credsStore":"bldtest"})");
  DockerConfig config(dir.path());
  CHECK_FALSE(config.Get("127.0.0.1:5000"));
  CHECK(config.Store("127.0.0.1:5000", {"carol", "pw2", ""}) == DockerConfig::Location::kHelper);
  json stored = json::parse(ReadFile(bin / "bldtest.store"));
  CHECK(stored == json({{"ServerURL", "127.0.0.1:5000"}, {"Username", "carol"}, {"Secret", "pw2"}}));
  // The file only lists the registry, as docker leaves it.
  CHECK(json::parse(ReadFile(dir / "config.json"))["auths"]["127.0.0.1:5000"] == json::object());
  auto c = config.Get("127.0.0.1:5000");
  REQUIRE(c);
  CHECK(c->username == "carol");
  CHECK(c->password == "pw2");
  CHECK(config.Erase("127.0.0.1:5000"));
  CHECK_FALSE(config.Get("127.0.0.1:5000"));
}

TEST_CASE("credHelpers picks a helper per registry, and <token> means an identity token") {
  TempDir bin, dir;
  WriteHelper(bin, "perhost");
  ScopedPath path(bin.path());
  WriteFile(bin / "perhost.store", R"({"ServerURL":"r.example.com","Username":"<token>","Secret":"tok-1"})");
  WriteFile(dir / "config.json",
            R"({"credHelpers":{"r.example.com":"perhost"},"auths":{"s.example.com":{"auth":"YTpi"}}})");
  DockerConfig config(dir.path());
  auto c = config.Get("r.example.com");
  REQUIRE(c);
  CHECK(c->identity_token == "tok-1");
  CHECK(c->username.empty());
  CHECK(config.Get("s.example.com")->username == "a");
}

TEST_CASE("a helper that is not installed is a clear error") {
  TempDir dir;
  WriteFile(dir / "config.json", R"({"credsStore":"no-such-helper-bld"})");
  CHECK_THROWS_WITH(DockerConfig(dir.path()).Get("127.0.0.1:5000"),
                    Catch::Contains("docker-credential-no-such-helper-bld") && Catch::Contains("not installed"));
}
