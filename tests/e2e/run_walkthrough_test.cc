// The seed's walkthrough, with bld where it used docker: build the
// hello-world app, run it with a published port, read its page, replace its
// command, list it, change it with exec, commit the change, tag and push.
#include <catch2/catch.hpp>
#include <string>

#include "store/image.h"
#include "store/store.h"
#include "support/container_fixture.h"
#include "support/registry_net.h"
#include "support/registry_server.h"

using bld::testing::ContainerFixture;
using bld::testing::HttpGet;
using bld::testing::ProcessResult;

namespace {

// The entries of the image's last layer, as tar lists them.
std::string TopLayerEntries(const std::string& root, const std::string& ref) {
  auto store = bld::store::Store::Open(root);
  bld::store::Image image = bld::store::ReadImage(*store, *store->GetRef(ref));
  std::string blob = root + "/blobs/sha256/" + std::string(image.manifest.layers.back().digest.hex());
  return bld::testing::RunProcess({"tar", "-tzf", blob}).out;
}

}  // namespace

TEST_CASE("the walkthrough: build, run -p, GET, run --rm CMD, ps, exec, commit, tag and push", "[e2e][run]") {
  ContainerFixture f;
  f.BuildHelloworld();
  int port = bld::testing::FreeLoopbackPort();
  std::string id = f.BldOk({"run", "-d", "-p", std::to_string(port) + ":80", "helloworld"});
  REQUIRE(id.size() == 64);

  // The page greets with ENV NAME and names the host: the short ID.
  std::string page = HttpGet(port, "/cgi-bin/index.cgi");
  CHECK(page.find("Hello World!") != std::string::npos);
  CHECK(page.find(id.substr(0, 12)) != std::string::npos);

  // A command given to run replaces CMD.
  CHECK(f.BldOk({"run", "--rm", "helloworld", "cat", "/app/cgi-bin/index.cgi"}).find("Hello") != std::string::npos);

  std::string ps = f.BldOk({"ps"});
  CHECK(ps.find("CONTAINER ID   IMAGE") == 0);
  CHECK(ps.find(id.substr(0, 12)) != std::string::npos);
  CHECK(ps.find("0.0.0.0:" + std::to_string(port) + "->80/tcp") != std::string::npos);

  f.BldOk({"exec", id, "touch", "/app/test.txt"});
  f.BldOk({"commit", id, "geektime/helloworld:v2"});
  // The new image has the file, and nothing of the init layer: the
  // container's /etc/hosts is made anew, and the layer has no etc/ at all.
  CHECK(f.BldOk({"run", "--rm", "geektime/helloworld:v2", "ls", "/app/test.txt"}) == "/app/test.txt");
  std::string history = f.BldOk({"history", "--no-trunc", "geektime/helloworld:v2"});
  CHECK(history.find("httpd -f -v -p 80 -h /app") != std::string::npos);
  CHECK(TopLayerEntries(f.root(), "docker.io/geektime/helloworld:v2") == "app/\napp/test.txt\n");

  bld::testing::RegistryServer registry;
  std::string remote = registry.host() + "/geektime/helloworld:v2";
  f.BldOk({"tag", "geektime/helloworld:v2", remote});
  ProcessResult push = f.Bld({"push", remote});
  INFO(push.out + push.err);
  CHECK(push.exit_code == 0);
}
