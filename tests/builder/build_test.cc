// bld build end to end through the builder library: real RUN containers on
// a busybox base, the content-addressed cache, stages and errors.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "builder/builder.h"
#include "registry/image_lookup.h"
#include "store/image.h"
#include "support/process.h"
#include "support/test_images.h"

using namespace bld;
using bld::testing::TempDir;
using bld::testing::WriteFile;

namespace {

struct Fixture {
  TempDir root;
  TempDir context;
  std::unique_ptr<store::Store> store = store::Store::Open(root.path());
  std::vector<builder::BuildEvent> events;
  std::mutex mu;

  Fixture() { testing::MakeBusyboxImage(*store); }

  builder::BuildResult Build(builder::BuildOptions o = {}) {
    events.clear();
    if (o.context_dir.empty() && o.context_tar_fd < 0) o.context_dir = context.path();
    return builder::Build(*store, o, [&](const builder::BuildEvent& e) {
      std::lock_guard lock(mu);
      events.push_back(e);
    });
  }
  builder::BuildResult Build(const std::string& dockerfile, builder::BuildOptions o = {}) {
    WriteFile(context / "Dockerfile", dockerfile);
    return Build(std::move(o));
  }
  store::Image Image(const std::string& name) {
    auto d = registry::FindLocalImage(*store, name);
    REQUIRE(d);
    return store::ReadImage(*store, *d);
  }
  // Names of the steps that ran (not cached), in event order.
  std::vector<std::string> Executed() const {
    std::vector<std::string> out;
    for (const auto& e : events)
      if (e.type == builder::BuildEvent::Type::kStepDone && e.name.find(" FROM ") == std::string::npos)
        out.push_back(e.name);
    return out;
  }
  size_t Count(builder::BuildEvent::Type t) const {
    return std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.type == t; });
  }
  // Reads a file from the top of the image `name`, via a RUN in a new build.
  std::string FileInImage(const std::string& name, const std::string& path) {
    TempDir out;
    builder::BuildOptions o;
    o.no_cache = true;
    TempDir ctx;
    WriteFile(ctx / "Dockerfile", "FROM " + name + "\nRUN cat " + path + "\n");
    o.context_dir = ctx.path();
    std::string text;
    builder::Build(*store, o, [&](const builder::BuildEvent& e) {
      if (e.type == builder::BuildEvent::Type::kStepOutput) text += e.text + "\n";
    });
    return text;
  }
};

builder::BuildOptions Tagged(const std::string& tag) {
  builder::BuildOptions o;
  o.tags = {tag};
  return o;
}

const char* kHello =
    "FROM busybox\nWORKDIR /app\nADD . /app\nRUN echo built > /app/built.txt\nEXPOSE 80\nENV NAME World\n"
    "CMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/app\"]\n";

}  // namespace

TEST_CASE("the hello-world Dockerfile builds with the config Docker would write") {
  Fixture f;
  WriteFile(f.context / "index.html", "hello\n");
  auto r = f.Build(kHello, Tagged("helloworld"));
  store::Image img = f.Image("helloworld");
  CHECK(img.id() == r.image_id);
  const auto& c = img.config.config;
  CHECK(std::find(c.env.begin(), c.env.end(), "NAME=World") != c.env.end());
  CHECK(c.cmd == std::vector<std::string>{"httpd", "-f", "-p", "80", "-h", "/app"});
  CHECK(c.working_dir == "/app");
  CHECK(c.exposed_ports == std::set<std::string>{"80/tcp"});
  // One history row per instruction after FROM, on top of the base's one.
  REQUIRE(img.config.history.size() == 1 + 6);
  CHECK(img.config.history[1].created_by == "WORKDIR /app");
  CHECK(img.config.history[3].created_by.starts_with("RUN /bin/sh -c echo built > /app/built.txt"));
  CHECK(img.config.history[4].empty_layer);
  CHECK(img.config.history[4].created_by == "EXPOSE map[80/tcp:{}]");
  CHECK(img.config.history[6].created_by == "CMD [\"httpd\" \"-f\" \"-p\" \"80\" \"-h\" \"/app\"]");
  // WORKDIR, ADD and RUN each added a layer.
  CHECK(img.manifest.layers.size() == 1 + 3);
  CHECK(img.config.rootfs.diff_ids.size() == img.manifest.layers.size());
  CHECK(f.FileInImage("helloworld", "/app/built.txt") == "built\n");
  CHECK(f.FileInImage("helloworld", "/app/index.html") == "hello\n");
}

TEST_CASE("a warm rebuild hits every step, starts no container and gives the same image") {
  Fixture f;
  WriteFile(f.context / "index.html", "hello\n");
  auto first = f.Build(kHello, Tagged("helloworld"));
  auto containers_before = std::distance(std::filesystem::directory_iterator(f.store->containers_dir()), {});
  auto second = f.Build(Tagged("helloworld"));
  CHECK(second.image_id == first.image_id);
  CHECK(second.cached_steps == second.steps);
  CHECK(second.executed_steps == 0);
  CHECK(f.Executed().empty());
  CHECK(f.Count(builder::BuildEvent::Type::kStepOutput) == 0);
  CHECK(std::distance(std::filesystem::directory_iterator(f.store->containers_dir()), {}) == containers_before);
}

TEST_CASE("a rebuild with nothing changed commits nothing to the store's index") {
  Fixture f;
  WriteFile(f.context / "index.html", "hello\n");
  f.Build(kHello, Tagged("helloworld"));
  // The second build may still vouch for context files the first saw being
  // written (stat_cache.h); from then on nothing is new.
  f.Build(Tagged("helloworld"));
  auto modified = [&] {
    struct stat st {};
    REQUIRE(stat((f.root / "meta/data.mdb").c_str(), &st) == 0);
    return std::pair(st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  };
  auto before = modified();
  auto third = f.Build(Tagged("helloworld"));
  CHECK(third.cached_steps == third.steps);
  CHECK(modified() == before);
}

TEST_CASE("a changed context file misses from its COPY on") {
  Fixture f;
  WriteFile(f.context / "a.txt", "one\n");
  std::string df = "FROM busybox\nRUN echo before\nCOPY a.txt /a.txt\nRUN cat /a.txt\n";
  f.Build(df);
  WriteFile(f.context / "a.txt", "two\n");
  f.Build();
  CHECK(f.Executed() == std::vector<std::string>{"[3/4] COPY a.txt /a.txt", "[4/4] RUN cat /a.txt"});
}

TEST_CASE("a touched but unchanged file is a cache hit") {
  Fixture f;
  WriteFile(f.context / "a.txt", "same\n");
  f.Build("FROM busybox\nCOPY a.txt /a.txt\n");
  struct timespec ts[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  utimensat(AT_FDCWD, (f.context / "a.txt").c_str(), ts, 0);
  WriteFile(f.context / "a.txt", "same\n");  // rewritten: new mtime and ctime, same bytes
  auto r = f.Build();
  CHECK(r.cached_steps == r.steps);
}

TEST_CASE("a build arg invalidates only the steps that observe it") {
  Fixture f;
  WriteFile(f.context / "a.txt", "x\n");
  std::string df = "FROM busybox\nARG V=1\nCOPY a.txt /a.txt\nRUN echo $V\nARG UNUSED\nRUN true\n";
  builder::BuildOptions o;
  o.build_args = {{"V", "1"}};
  f.Build(df, o);
  o.build_args = {{"V", "2"}};
  f.Build(o);
  // COPY cannot see V; both RUNs see it in their environment.
  // Everything after the first miss runs again; the COPY before it did not.
  CHECK(f.Executed() == std::vector<std::string>{"[4/6] RUN echo $V", "[5/6] ARG UNUSED", "[6/6] RUN true"});
  o.build_args = {{"V", "2"}, {"NOT_DECLARED", "z"}};
  auto r = f.Build(o);
  CHECK(r.cached_steps == r.steps);
}

TEST_CASE("a build without the cache runs every step again") {
  Fixture f;
  f.Build("FROM busybox\nRUN echo a\nENV A=1\n");
  builder::BuildOptions o;
  o.no_cache = true;
  auto r = f.Build(o);
  CHECK(r.cached_steps == 0);
  CHECK(f.Executed().size() == 2);
}

TEST_CASE("explain mode names the changed input") {
  Fixture f;
  WriteFile(f.context / "src/main.c", "int main(){}\n");
  f.Build("FROM busybox\nCOPY src /src\n");
  WriteFile(f.context / "src/main.c", "int main(){return 1;}\n");
  builder::BuildOptions o;
  o.explain = true;
  f.Build(o);
  std::string explained;
  for (const auto& e : f.events)
    if (e.type == builder::BuildEvent::Type::kExplain) explained += e.text;
  CHECK_THAT(explained, Catch::Contains("src/main.c (changed)"));
}

TEST_CASE("independent stages run at the same time") {
  Fixture f;
  std::string df =
      "FROM busybox AS a\nRUN sleep 1 && echo a > /a\n"
      "FROM busybox AS b\nRUN sleep 1 && echo b > /b\n"
      "FROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n";
  builder::BuildOptions o;
  o.parallelism = 2;
  f.Build(df, o);
  // Both RUNs start before either is done.
  int started = 0, done_before_both_started = 0;
  for (const auto& e : f.events) {
    if (e.name.find("RUN sleep") == std::string::npos) continue;
    if (e.type == builder::BuildEvent::Type::kStepStarted) ++started;
    if (e.type == builder::BuildEvent::Type::kStepDone && started < 2) ++done_before_both_started;
  }
  CHECK(started == 2);
  CHECK(done_before_both_started == 0);
}

TEST_CASE("the first failure kills the RUN another stage is running and is the error reported") {
  Fixture f;
  std::string df =
      "FROM busybox AS slow\nRUN echo slow-started && sleep 3000 && echo slow-finished\n"
      "FROM busybox AS broken\nRUN sleep 1; exit 7\n"
      "FROM busybox\nCOPY --from=slow /etc/passwd /a\nCOPY --from=broken /etc/passwd /b\n";
  builder::BuildOptions o;
  o.parallelism = 2;
  REQUIRE_THROWS_WITH(f.Build(df, o), Catch::Contains("exit code: 7") || Catch::Contains("exit code 7"));
  bool slow_cancelled = false, slow_finished = false;
  for (const auto& e : f.events) {
    if (e.name.find("sleep 3000") == std::string::npos) continue;
    if (e.type == builder::BuildEvent::Type::kStepCancelled) slow_cancelled = true;
    if (e.type == builder::BuildEvent::Type::kStepOutput && e.text == "slow-finished") slow_finished = true;
  }
  CHECK(slow_cancelled);
  CHECK_FALSE(slow_finished);
  CHECK(std::filesystem::is_empty(f.store->containers_dir()));
}

TEST_CASE("a build of a target stage builds only the stages it needs") {
  Fixture f;
  builder::BuildOptions o;
  o.target = "build";
  o.tags = {"t"};
  f.Build("FROM busybox AS base\nRUN echo base\nFROM base AS build\nRUN echo build\nFROM busybox AS other\nRUN echo other\n",
          o);
  for (const auto& e : f.events) CHECK(e.name.find("echo other") == std::string::npos);
  CHECK(f.Executed().size() == 2);
}

TEST_CASE("COPY --from copies from a stage and from an image") {
  Fixture f;
  f.Build("FROM busybox AS gen\nRUN mkdir -p /out/sub && echo gen > /out/sub/file && ln -s file /out/sub/link\n"
          "FROM scratch\nCOPY --from=gen /out /copied\nCOPY --from=busybox /bin /bin\n",
          Tagged("fromtest"));
  store::Image img = f.Image("fromtest");
  CHECK(img.manifest.layers.size() == 2);
  // Checked through a build on top of the result, which has busybox now.
  CHECK(f.FileInImage("fromtest", "/copied/sub/link") == "gen\n");
}

TEST_CASE("COPY follows Docker's destination rules and --chown/--chmod") {
  Fixture f;
  WriteFile(f.context / "one.txt", "1\n");
  WriteFile(f.context / "dir/two.txt", "2\n");
  f.Build("FROM busybox\nWORKDIR /w\nCOPY one.txt rel/\nCOPY dir /d\nCOPY --chown=app:extra --chmod=0600 one.txt /owned\n"
          "RUN ls /w/rel/one.txt /d/two.txt && stat -c '%u:%g %a' /owned\n");
  std::string out;
  for (const auto& e : f.events)
    if (e.type == builder::BuildEvent::Type::kStepOutput) out += e.text + "\n";
  CHECK_THAT(out, Catch::Contains("/w/rel/one.txt"));
  CHECK_THAT(out, Catch::Contains("/d/two.txt"));
  CHECK_THAT(out, Catch::Contains("1000:1001 600"));
}

TEST_CASE("ADD unpacks a local tar archive") {
  Fixture f;
  TempDir src;
  WriteFile(src / "inside/file.txt", "from tar\n");
  REQUIRE(testing::RunShell("tar -C " + src.path() + " -czf " + (f.context / "a.tar.gz") + " inside").exit_code == 0);
  f.Build("FROM busybox\nADD a.tar.gz /x/\nRUN cat /x/inside/file.txt\n");
  bool seen = false;
  for (const auto& e : f.events) seen = seen || e.text == "from tar";
  CHECK(seen);
}

TEST_CASE("ENTRYPOINT resets an inherited CMD, USER and ONBUILD take effect") {
  Fixture f;
  f.Build("FROM busybox\nONBUILD RUN echo triggered > /tmp/trigger\nUSER app\n", Tagged("parent"));
  CHECK(f.Image("parent").config.config.on_build.size() == 1);
  f.Build("FROM parent\nENTRYPOINT [\"/bin/echo\"]\nRUN id -u > /tmp/uid\n", Tagged("child"));
  store::Image child = f.Image("child");
  CHECK(child.config.config.cmd.empty());
  CHECK(child.config.config.entrypoint == std::vector<std::string>{"/bin/echo"});
  CHECK(child.config.config.on_build.empty());
  CHECK(child.config.config.user == "app");
  CHECK(f.FileInImage("child", "/tmp/trigger") == "triggered\n");
  CHECK(f.FileInImage("child", "/tmp/uid") == "1000\n");
}

TEST_CASE("a RUN heredoc runs as a script") {
  Fixture f;
  f.Build("FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\nRUN <<EOF\n#!/bin/sh\necho shebang\nEOF\n");
  std::vector<std::string> lines;
  for (const auto& e : f.events)
    if (e.type == builder::BuildEvent::Type::kStepOutput) lines.push_back(e.text);
  CHECK(lines == std::vector<std::string>{"one", "two", "shebang"});
}

TEST_CASE("ARG values are in RUN's environment but not in the image config") {
  Fixture f;
  builder::BuildOptions o = Tagged("argtest");
  o.build_args = {{"SECRETISH", "v"}};
  f.Build("FROM busybox\nARG SECRETISH\nRUN test \"$SECRETISH\" = v\n", o);
  for (const std::string& kv : f.Image("argtest").config.config.env) CHECK(kv.find("SECRETISH") == std::string::npos);
}

TEST_CASE("a failing RUN reports the command, exit code and last output, and tags nothing") {
  Fixture f;
  try {
    f.Build("FROM busybox\nRUN echo first && echo last-line && exit 3\n", Tagged("broken"));
    FAIL("expected a BuildError");
  } catch (const builder::BuildError& e) {
    CHECK(e.where().line == 2);
    CHECK_THAT(e.what(), Catch::Contains("/bin/sh -c echo first && echo last-line && exit 3"));
    CHECK_THAT(e.what(), Catch::Contains("exit code 3"));
    REQUIRE_FALSE(e.output_tail().empty());
    CHECK(e.output_tail().back() == "last-line");
  }
  CHECK_FALSE(registry::FindLocalImage(*f.store, "broken"));
}

TEST_CASE("a missing COPY source is an error naming it") {
  Fixture f;
  try {
    f.Build("FROM busybox\nCOPY missing.txt /x\n");
    FAIL("expected a BuildError");
  } catch (const builder::BuildError& e) {
    CHECK(e.where().line == 2);
    CHECK_THAT(e.what(), Catch::Contains("\"missing.txt\": not found in the build context"));
  }
}

TEST_CASE("a file excluded by .dockerignore is not in the context") {
  Fixture f;
  WriteFile(f.context / "keep.txt", "k\n");
  WriteFile(f.context / "secret.env", "s\n");
  WriteFile(f.context / ".dockerignore", "*.env\n");
  CHECK_THROWS_AS(f.Build("FROM busybox\nCOPY secret.env /\n"), builder::BuildError);
  f.Build("FROM busybox\nCOPY . /ctx/\nRUN ls /ctx\n");
  std::string out;
  for (const auto& e : f.events)
    if (e.type == builder::BuildEvent::Type::kStepOutput) out += e.text + " ";
  CHECK_THAT(out, Catch::Contains("keep.txt"));
  CHECK_THAT(out, !Catch::Contains("secret.env"));
}

TEST_CASE("a symlink in the context never exposes a host file") {
  Fixture f;
  std::filesystem::create_symlink("/etc", f.context / "hostetc");
  std::filesystem::create_symlink("/etc/hostname", f.context / "hostfile");
  // Resolved inside the context, /etc is the context's own (absent) etc.
  CHECK_THROWS_AS(f.Build("FROM busybox\nCOPY hostetc/passwd /x\n"), builder::BuildError);
  // Inside a copied directory a symlink stays a symlink.
  f.Build("FROM busybox\nCOPY . /ctx/\nRUN readlink /ctx/hostfile\n");
  bool link = false;
  for (const auto& e : f.events) link = link || e.text == "/etc/hostname";
  CHECK(link);
}

TEST_CASE("an unknown --target and a syntax error are Dockerfile errors") {
  Fixture f;
  builder::BuildOptions o;
  o.target = "bulid";
  CHECK_THROWS_WITH(f.Build("FROM busybox AS build\n", o), Catch::Contains("did you mean build?"));
  CHECK_THROWS_AS(f.Build("FROM busybox\nRUNN x\n"), parser::ParseError);
}

TEST_CASE("a context tar on stdin builds like a directory") {
  Fixture f;
  WriteFile(f.context / "Dockerfile", "FROM busybox\nCOPY a.txt /a.txt\n");
  WriteFile(f.context / "a.txt", "tar\n");
  std::string tar = f.root / "ctx.tar";
  REQUIRE(testing::RunShell("tar -C " + f.context.path() + " -cf " + tar + " .").exit_code == 0);
  int fd = open(tar.c_str(), O_RDONLY);
  builder::BuildOptions o = Tagged("fromtar");
  o.context_tar_fd = fd;
  o.context_dir = "unused";
  o.context_dir.clear();
  f.Build(o);
  close(fd);
  CHECK(f.FileInImage("fromtar", "/a.txt") == "tar\n");
}
