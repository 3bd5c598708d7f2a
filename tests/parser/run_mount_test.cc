// RUN --mount specs: BuildKit's keys, aliases and defaults, and an error for
// every option value that does not exist.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "parser/run_mount.h"

using bld::parser::ParseRunMount;
using bld::parser::RunMount;

namespace {
std::string ErrorOf(const std::string& spec) {
  try {
    ParseRunMount(spec);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("a mount is a bind mount unless its type says otherwise") {
  RunMount m = ParseRunMount("target=/src");
  CHECK(m.type == "bind");
  CHECK(m.target == "/src");
  CHECK(m.read_only);
  CHECK(ParseRunMount("TYPE=Cache,target=/c").type == "cache");
}

TEST_CASE("mount keys have BuildKit's aliases") {
  RunMount m = ParseRunMount("type=bind,src=a,dst=/b,readwrite");
  CHECK(m.source == "a");
  CHECK(m.target == "/b");
  CHECK_FALSE(m.read_only);
  CHECK(ParseRunMount("destination=/d").target == "/d");
  CHECK(ParseRunMount("type=cache,target=/c,readonly").read_only);
}

TEST_CASE("cache and tmpfs mounts are writable by default, bind, secret and ssh read-only") {
  CHECK_FALSE(ParseRunMount("type=cache,target=/c").read_only);
  CHECK_FALSE(ParseRunMount("type=tmpfs,target=/t").read_only);
  CHECK(ParseRunMount("type=secret,id=s").read_only);
  CHECK(ParseRunMount("type=ssh").read_only);
  CHECK(ParseRunMount("type=bind,target=/b,ro=false").read_only == false);
}

TEST_CASE("a cache's id defaults to its target and its sharing to shared") {
  RunMount m = ParseRunMount("type=cache,target=/var/cache/apt");
  CHECK(m.id == "/var/cache/apt");
  CHECK(m.sharing == "shared");
  RunMount locked = ParseRunMount("type=cache,target=/c,id=apt,sharing=LOCKED,mode=0700,uid=1000,gid=100");
  CHECK(locked.id == "apt");
  CHECK(locked.sharing == "locked");
  CHECK(locked.mode == 0700u);
  CHECK(locked.uid == 1000u);
  CHECK(locked.gid == 100u);
}

TEST_CASE("a secret's id comes from id, source or the target's name") {
  CHECK(ParseRunMount("type=secret,id=tok").id == "tok");
  CHECK(ParseRunMount("type=secret,source=tok,target=/x").id == "tok");
  CHECK(ParseRunMount("type=secret,target=/run/a/npmrc").id == "npmrc");
  RunMount env = ParseRunMount("type=secret,id=tok,env=TOKEN,required");
  CHECK(env.env == "TOKEN");
  CHECK(env.required);
  CHECK(ErrorOf("type=secret") == "invalid secret mount: one of id, source or target is required");
  CHECK(ErrorOf("type=secret,id=a,source=b") == "both source and id can't be set");
}

TEST_CASE("an ssh mount's id defaults to default") {
  CHECK(ParseRunMount("type=ssh").id == "default");
  CHECK(ParseRunMount("type=ssh,id=gh,required=true").required);
}

TEST_CASE("a tmpfs size is read as docker reads it") {
  CHECK(ParseRunMount("type=tmpfs,target=/t,size=1024").size == 1024u);
  CHECK(ParseRunMount("type=tmpfs,target=/t,size=64m").size == 64u * 1024 * 1024);
  CHECK(ParseRunMount("type=tmpfs,target=/t,size=1.5GiB").size == 1536u * 1024 * 1024);
  CHECK_THAT(ErrorOf("type=tmpfs,target=/t,size=lots"), Catch::StartsWith("invalid value for size: lots"));
}

TEST_CASE("option values that do not exist are errors") {
  CHECK(ErrorOf("type=cache,target=/c,sharing=sometimes") ==
        "unsupported sharing value \"sometimes\" (use shared, private or locked)");
  CHECK_THAT(ErrorOf("type=cahce,target=/c"), Catch::StartsWith("unsupported mount type \"cahce\" (did you mean cache?)"));
  CHECK_THAT(ErrorOf("type=cache,target=/c,mode=0999"), Catch::StartsWith("invalid value 0999 for mode"));
  CHECK_THAT(ErrorOf("type=cache,target=/c,mode=17777"), Catch::StartsWith("invalid value 17777 for mode"));
  CHECK_THAT(ErrorOf("type=cache,target=/c,uid=-1"), Catch::StartsWith("invalid value -1 for uid"));
  CHECK_THAT(ErrorOf("type=cache,target=/c,ro=maybe"), Catch::StartsWith("invalid value for ro: maybe"));
}

TEST_CASE("an option a mount type has no use for is an error") {
  CHECK(ErrorOf("type=bind,target=/b,sharing=locked") ==
        "option 'sharing' is not allowed for type=bind mounts (it is for cache)");
  CHECK_THAT(ErrorOf("type=bind,target=/b,mode=0755"), Catch::StartsWith("option 'mode' is not allowed for type=bind"));
  CHECK_THAT(ErrorOf("type=tmpfs,target=/t,from=x"), Catch::StartsWith("option 'from' is not allowed for type=tmpfs"));
  CHECK_THAT(ErrorOf("type=cache,target=/c,size=1m"), Catch::StartsWith("option 'size' is not allowed for type=cache"));
  CHECK_THAT(ErrorOf("type=bind,target=/b,required"), Catch::StartsWith("option 'required' is not allowed"));
  CHECK_THAT(ErrorOf("type=ssh,source=x"), Catch::StartsWith("option 'source' is not allowed for type=ssh"));
  CHECK(ErrorOf("type=secret,id=s,rw") == "secret mounts are always read-only (remove rw)");
}

TEST_CASE("an unknown key is an error with a suggestion") {
  CHECK(ErrorOf("type=cache,target=/c,sharng=locked") ==
        "unexpected key 'sharng' in 'sharng=locked' (did you mean sharing?)");
  CHECK(ErrorOf("type=cache,target=/c,nocache") == "unexpected key 'nocache' in 'nocache'");
  CHECK(ErrorOf("type=cache,target") == "invalid field 'target' must be a key=value pair");
  CHECK(ErrorOf("type=cache,target=/a,dst=/b") == "option 'target' is given twice");
}

TEST_CASE("values with variables are checked once expanded") {
  CHECK(ParseRunMount("type=cache,target=/c,sharing=$MODE").sharing == "shared");
  auto expand = [](const std::string& v) { return v == "$MODE" ? std::string("sometimes") : v; };
  CHECK_THROWS_WITH(ParseRunMount("type=cache,target=/c,sharing=$MODE", expand),
                    "unsupported sharing value \"sometimes\" (use shared, private or locked)");
  CHECK(ErrorOf("type=bind,from=$STAGE") == "'from' doesn't support variable expansion, define alias stage instead");
}
