#include "runner/user.h"

#include <catch2/catch.hpp>

namespace bld::runner {
namespace {

const std::string kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "app:x:1000:1000:app:/home/app:/bin/sh\n"
    "\n"
    "dup:x:1000:1234:shadowed by app for uid 1000:/nowhere:/bin/sh\n"
    "svc:x:200:300::/var/svc:/bin/false\n";
const std::string kGroup =
    "root:x:0:\n"
    "app:x:1000:\n"
    "extra:x:1001:app,svc\n"
    "more:x:1002:svc,app\n"
    "staff:x:50:\n";

ExecUser Resolve(std::string_view spec) { return ResolveUser(spec, kPasswd, kGroup); }

TEST_CASE("an empty user is root with root's home") { CHECK(Resolve("") == ExecUser{0, 0, {}, "/root"}); }

TEST_CASE("a user name gives the passwd entry and every group listing the name") {
  CHECK(Resolve("app") == ExecUser{1000, 1000, {1001, 1002}, "/home/app"});
  CHECK(Resolve("svc") == ExecUser{200, 300, {1001, 1002}, "/var/svc"});
}

TEST_CASE("a uid is looked up in passwd and the first matching line wins") {
  CHECK(Resolve("1000") == ExecUser{1000, 1000, {1001, 1002}, "/home/app"});
}

TEST_CASE("a uid passwd does not list is used as it is, with gid 0 and home /") {
  CHECK(Resolve("4242") == ExecUser{4242, 0, {}, "/"});
}

TEST_CASE("an explicit group replaces the gid and drops supplementary groups") {
  CHECK(Resolve("app:staff") == ExecUser{1000, 50, {}, "/home/app"});
  CHECK(Resolve("app:1001") == ExecUser{1000, 1001, {}, "/home/app"});
  CHECK(Resolve("4242:4343") == ExecUser{4242, 4343, {}, "/"});
}

TEST_CASE("numeric ids work without passwd and group files") {
  CHECK(ResolveUser("7:8", std::nullopt, std::nullopt) == ExecUser{7, 8, {}, "/"});
  CHECK(ResolveUser("", std::nullopt, std::nullopt) == ExecUser{0, 0, {}, "/"});
}

TEST_CASE("an unknown user name is an error in Docker's words") {
  CHECK_THROWS_WITH(Resolve("foo"), "unable to find user foo: no matching entries in passwd file");
  CHECK_THROWS_WITH(ResolveUser("app", std::nullopt, std::nullopt),
                    "unable to find user app: no matching entries in passwd file");
}

TEST_CASE("added groups come after the user's own, by name or number, even with an explicit group") {
  CHECK(ResolveUser("app", kPasswd, kGroup, {"staff", "77"}) == ExecUser{1000, 1000, {1001, 1002, 50, 77}, "/home/app"});
  CHECK(ResolveUser("app:staff", kPasswd, kGroup, {"root"}) == ExecUser{1000, 50, {0}, "/home/app"});
  CHECK_THROWS_WITH(ResolveUser("app", kPasswd, kGroup, {"nosuch"}),
                    "unable to find group nosuch: no matching entries in group file");
}

TEST_CASE("an unknown group name is an error in Docker's words") {
  CHECK_THROWS_WITH(Resolve("app:nogroup"), "unable to find group nogroup: no matching entries in group file");
}

TEST_CASE("ids outside 0 to 2^31-1 are refused") {
  CHECK_THROWS_WITH(Resolve("-1"), "uids and gids must be in range 0-2147483647");
  CHECK_THROWS_WITH(Resolve("app:2147483648"), "uids and gids must be in range 0-2147483647");
}

}  // namespace
}  // namespace bld::runner
