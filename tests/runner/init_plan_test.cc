// The init plan survives the trip through the memfd byte for byte.
#include <catch2/catch.hpp>

#include "runner/init_plan.h"

namespace bld::testing {

TEST_CASE("an init plan reads back as it was written, bytes that are not UTF-8 included") {
  runner::InitPlan plan;
  plan.rootfs.overlay = {{"/s/a", "/s/b"}, "/c/upper", "/c/work"};
  plan.rootfs.rootfs = "/c/rootfs";
  plan.rootfs.etc_files_dir = "/c";
  plan.run.argv = {"/bin/sh", "-c", "echo caf\xe9"};
  plan.run.env = {"A=\xff\xfe", "B=2"};
  plan.run.user = "app:staff";
  plan.run.group_add = {"audio", "4242"};
  plan.security.capabilities = 0x3;
  plan.security.no_new_privileges = true;
  plan.security.seccomp = {std::string("\x20\x00\x00\x00\x04\x00\x00\x00", 8), 2};
  plan.security.rlimits = {{7, 100, 200}};
  plan.rootfs.writable_sysfs = true;
  plan.rootfs.mask_kernel_paths = false;
  plan.rootfs.read_only = true;
  plan.rootfs.tmpfs = {{"/run", 14, "size=1m"}};
  plan.rootfs.devices = {{"/dev/fuse", 020666, 10, 229, 0, 5}};
  plan.run.workdir = "/srv";
  plan.run.network = runner::NetworkMode::kNone;
  plan.hostname = "abc";
  plan.binds = {{"/host", "/ctr", true, false}};
  plan.stdio = runner::StdioFds{4, 5, 6, -1};
  plan.cgroup_procs = {"/sys/fs/cgroup/pids/x/cgroup.procs"};
  plan.output_fd = 7;
  plan.error_fd = 8;
  runner::FileStepPlan files;
  runner::FileOp op;
  op.type = runner::FileOp::Type::kFile;
  op.dest = "/heredoc";
  op.content = std::string("binary\0bytes\xff", 13);
  op.mode = 04755;
  op.mtime_sec = 1700000000;
  op.uid = 1000;
  op.gid = 1001;
  files.plan.ops.push_back(op);
  files.plan.owner = "1000";
  files.plan.chmod = 0600;
  files.plan.context_fd = 9;
  files.source = runner::OverlayLayers{{"/s/x"}, "/c/su", "/c/sw"};
  files.source_root = "/c/source";
  plan.files = files;

  runner::InitPlan back = runner::ParseInitPlan(runner::SerializeInitPlan(plan));
  CHECK(back.rootfs.overlay.lowerdirs == plan.rootfs.overlay.lowerdirs);
  CHECK(back.run.argv == plan.run.argv);
  CHECK(back.run.env == plan.run.env);
  CHECK(back.run.network == runner::NetworkMode::kNone);
  CHECK(back.run.group_add == plan.run.group_add);
  CHECK(back.security == plan.security);
  CHECK(back.rootfs.writable_sysfs);
  CHECK_FALSE(back.rootfs.mask_kernel_paths);
  CHECK(back.rootfs.read_only);
  CHECK(back.rootfs.tmpfs == plan.rootfs.tmpfs);
  CHECK(back.rootfs.devices == plan.rootfs.devices);
  CHECK(back.binds.at(0).read_only);
  CHECK(back.stdio->out == 5);
  CHECK(back.error_fd == 8);
  REQUIRE(back.files);
  const runner::FileOp& got = back.files->plan.ops.at(0);
  CHECK(got.content == op.content);
  CHECK(got.mode == 04755);
  CHECK(got.uid == 1000);
  CHECK(back.files->plan.chmod == 0600);
  CHECK(back.files->plan.context_fd == 9);
  CHECK(back.files->source->upperdir == "/c/su");
}

TEST_CASE("a plan bld did not write is refused with a clear error") {
  CHECK_THROWS_WITH(runner::ParseInitPlan("not a plan"), Catch::StartsWith("runner: the container's init plan cannot be read"));
}

}  // namespace bld::testing
