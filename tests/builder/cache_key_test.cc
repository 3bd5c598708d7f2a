// Cache keys: the recipe of docs/cache-keys.md. The expected values were
// computed outside bld (sha256 over length-prefixed fields, as the document
// says); a change here means every store loses its cache.
#include <catch2/catch.hpp>

#include "builder/cache_key.h"

using namespace bld;
using builder::StepKeyInputs;

namespace {


store::Digest Manifest() {
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "ab";
  return store::Digest::Parse("sha256:" + hex);
}

std::string Parent() { return builder::FromImageKey("linux/amd64", Manifest()); }

}  // namespace

TEST_CASE("the key of FROM an image pins the platform and the manifest digest") {
  CHECK(builder::FromImageKey("linux/amd64", Manifest()) ==
        "178046df68a2b1dbb4c33a9986c9f26a52bf060aee574da78e256acb90538268");
  CHECK(builder::FromImageKey("linux/arm64", Manifest()) != builder::FromImageKey("linux/amd64", Manifest()));
}

TEST_CASE("the key of FROM scratch depends only on the platform and marks Docker's PATH") {
  CHECK(builder::FromScratchKey("linux/arm64/v8") == "31ab36aaa9013878a0e162f25fcf66857b8310e6a9b5aad809f49798df805d79");
}

TEST_CASE("the key of FROM an image without PATH marks the PATH the stage gets") {
  CHECK(builder::FromImageKey("linux/amd64", Manifest(), true) ==
        "b31914b2723177c4244fa9ed660e57af3d1a8db18954b83d8c09211e0a7aab3a");
}

TEST_CASE("a RUN --mount key lists each mount, and a bind mount's content") {
  StepKeyInputs in;
  in.parent = Parent();
  in.instruction = "RUN --mount=type=cache,target=/c true";
  in.network = "host";
  in.mounts = {{"mount 0 cache /c", ""}};
  CHECK(builder::StepKey(in) == "10e3910af5112c75962391e808766c5183421572e6685c78981eb7a652b169d6");
  StepKeyInputs bind;
  bind.parent = Parent();
  bind.instruction = "RUN --mount=target=/src make";
  bind.network = "host";
  bind.mounts = {{"mount 0 bind /src", ":src h1"}};
  CHECK(builder::StepKey(bind) == "1380eb8c3594196574e1bd5a575e91a65faa77c50edbd260d4f9387b723dec0e");
  bind.mounts["mount 0 bind /src"] = ":src h2";
  CHECK(builder::StepKey(bind) != "1380eb8c3594196574e1bd5a575e91a65faa77c50edbd260d4f9387b723dec0e");
}

TEST_CASE("a RUN without mounts keeps the key it had before mounts existed") {
  StepKeyInputs in;
  in.parent = Parent();
  in.instruction = "RUN echo hi";
  in.args = {{"BUILD", "1"}};
  in.network = "host";
  in.mounts = {};
  CHECK(builder::StepKey(in) == "7a583b529c74486214c03ec103fa0a96fd9e7637562e0ed4e00887f531066e4d");
}

TEST_CASE("a COPY --link step's key is its parent and the key of its layer alone") {
  StepKeyInputs alone;
  alone.parent = "linked, workdir /app";
  alone.instruction = "COPY --link a /b/";
  alone.files = {{"a", "f 420 x"}};
  alone.from_key = "";
  std::string link = builder::StepKey(alone);
  CHECK(link == "ef1d25941985dbbf348d80c95f761645c65363d7888e9650fcfe122cd889b3e2");
  CHECK(builder::LinkedStepKey(Parent(), link) == "72daa013a522a6f2c2e9cd4ed8592da05c360538b745adf17cdb733473ebb3bc");
}

TEST_CASE("a RUN key covers its parent, text, visible build args and network") {
  StepKeyInputs in;
  in.parent = Parent();
  in.instruction = "RUN echo hi";
  in.args = {{"BUILD", "1"}};
  in.network = "host";
  CHECK(builder::StepKey(in) == "7a583b529c74486214c03ec103fa0a96fd9e7637562e0ed4e00887f531066e4d");
  StepKeyInputs other = in;
  other.args["BUILD"] = "2";
  CHECK(builder::StepKey(other) != builder::StepKey(in));
  other = in;
  other.network = "none";
  CHECK(builder::StepKey(other) != builder::StepKey(in));
}

TEST_CASE("a RUN heredoc's body and expansion mode are in its key") {
  StepKeyInputs in;
  in.parent = Parent();
  in.instruction = "RUN <<EOF";
  in.heredocs = {{"EOF", "echo\n", false}};
  in.network = "none";
  CHECK(builder::StepKey(in) == "ad5489f2733ba5a1fa8079a6e4e1d2e40c707b5efe33ba6bf9882c1e18de50e1");
  in.heredocs[0].expand = true;
  CHECK(builder::StepKey(in) != "ad5489f2733ba5a1fa8079a6e4e1d2e40c707b5efe33ba6bf9882c1e18de50e1");
}

TEST_CASE("a COPY key covers its source hashes and, from the context, an empty source key") {
  StepKeyInputs in;
  in.parent = Parent();
  in.instruction = "COPY --chown=1 a /b";
  in.files = {{"a", "file 644 x"}};
  in.from_key = "";
  CHECK(builder::StepKey(in) == "0cbd462333058cdd260a50f7e5b43a844a906da1e78d97aa2d225cc9e0cc0811");
  in.files["a"] = "file 644 y";
  CHECK(builder::StepKey(in) != "0cbd462333058cdd260a50f7e5b43a844a906da1e78d97aa2d225cc9e0cc0811");
}

TEST_CASE("a COPY --from key covers the key of the source stage") {
  StepKeyInputs in;
  in.parent = Parent();
  in.instruction = "COPY --from=build /x /y";
  in.files = {{"/x", "y"}};
  in.from_key = "stagekey";
  CHECK(builder::StepKey(in) == "51e05a3f0de2450ee921719c369fb4ca500bf124174b1868be0ff4b51ddd1b41");
}

TEST_CASE("a metadata step's key is its parent and its expanded text") {
  StepKeyInputs in;
  in.parent = Parent();
  in.instruction = "CMD [\"a\"] (exec form)";
  CHECK(builder::StepKey(in) == "eb3311e788ca1312f329a4362ea1c539fefb3bf5233ab7e853c8b3bd1cd8c881");
}

TEST_CASE("fields are length-prefixed, so moving a boundary changes the key") {
  CHECK(builder::KeyHasher("k").Add("ab").Add("c").Finish() != builder::KeyHasher("k").Add("a").Add("bc").Finish());
}

TEST_CASE("the build's security options enter a key only when they are set") {
  StepKeyInputs in;
  in.parent = Parent();
  in.instruction = "RUN echo hi";
  in.args = {{"BUILD", "1"}};
  in.network = "host";
  std::string sandbox = builder::StepKey(in);
  CHECK(sandbox == "7a583b529c74486214c03ec103fa0a96fd9e7637562e0ed4e00887f531066e4d");
  in.security = R"({"NoNewPrivileges":true})";
  CHECK(builder::StepKey(in) != sandbox);
}

TEST_CASE("SOURCE_DATE_EPOCH enters a key only when it is set") {
  StepKeyInputs in;
  in.parent = Parent();
  in.instruction = "CMD [\"a\"] (exec form)";
  in.source_date_epoch = 0;
  std::string with_zero = builder::StepKey(in);
  CHECK(with_zero != "eb3311e788ca1312f329a4362ea1c539fefb3bf5233ab7e853c8b3bd1cd8c881");
  in.source_date_epoch = 1;
  CHECK(builder::StepKey(in) != with_zero);
}
