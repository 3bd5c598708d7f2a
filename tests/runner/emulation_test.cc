// Whether another architecture's programs can run here, read from a
// binfmt_misc directory (runner/emulation.h). The entries are written into
// a directory of the test's own, in the kernel's format, with the magic and
// mask Debian's qemu-user-static registers; the host's binfmt_misc is not
// read.
#include "runner/emulation.h"

#include <catch2/catch.hpp>
#include <string>

#include "support/process.h"

using bld::runner::EmulationProblem;
using bld::store::ParsePlatform;
using bld::testing::TempDir;
using bld::testing::WriteFile;

namespace {

// riscv64 and s390x (big-endian) are foreign on every machine these tests run on.
constexpr const char* kRiscv64Entry =
    "enabled\ninterpreter /usr/libexec/qemu-binfmt/riscv64-binfmt-P\nflags: PF\noffset 0\n"
    "magic 7f454c460201010000000000000000000200f300\nmask ffffffffffffff00fffffffffffffffffeffffff\n";
constexpr const char* kS390xEntry =
    "enabled\ninterpreter /usr/libexec/qemu-binfmt/s390x-binfmt-P\nflags: PF\noffset 0\n"
    "magic 7f454c4602020100000000000000000000020016\nmask fffffffffffffffcfffffffffffffffffffeffff\n";

struct BinfmtDir {
  TempDir dir;
  explicit BinfmtDir(const std::string& status = "enabled") {
    WriteFile(dir / "register", "");
    WriteFile(dir / "status", status + "\n");
  }
  std::string path() const { return dir.path(); }
};

}  // namespace

TEST_CASE("the host's own platform needs no emulator") {
  TempDir empty;
  CHECK_FALSE(EmulationProblem(bld::store::HostPlatform(), empty.path()));
}

TEST_CASE("a registered emulator with the F flag runs the architecture its magic matches") {
  BinfmtDir b;
  WriteFile(b.dir / "qemu-riscv64", kRiscv64Entry);
  WriteFile(b.dir / "qemu-s390x", kS390xEntry);
  CHECK_FALSE(EmulationProblem(ParsePlatform("linux/riscv64"), b.path()));
  CHECK_FALSE(EmulationProblem(ParsePlatform("linux/s390x"), b.path()));
  // The entries are matched by their magic, not their file names.
  BinfmtDir renamed;
  WriteFile(renamed.dir / "some-emulator", kS390xEntry);
  CHECK_FALSE(EmulationProblem(ParsePlatform("linux/s390x"), renamed.path()));
}

TEST_CASE("no emulator for the architecture says which one and what to install") {
  BinfmtDir b;
  WriteFile(b.dir / "qemu-riscv64", kRiscv64Entry);  // another architecture's
  std::optional<std::string> problem = EmulationProblem(ParsePlatform("linux/s390x"), b.path());
  REQUIRE(problem);
  CHECK_THAT(*problem, Catch::Contains("linux/s390x programs need QEMU user emulation"));
  CHECK_THAT(*problem, Catch::Contains("no emulator for s390x is registered"));
  CHECK_THAT(*problem, Catch::Contains("apt-get install qemu-user-static"));
}

TEST_CASE("a disabled entry, a disabled binfmt_misc or an unmounted one is no emulator") {
  BinfmtDir b;
  WriteFile(b.dir / "qemu-riscv64", std::string("disabled") + (kRiscv64Entry + 7));
  CHECK(EmulationProblem(ParsePlatform("linux/riscv64"), b.path()));

  BinfmtDir off("disabled");
  WriteFile(off.dir / "qemu-riscv64", kRiscv64Entry);
  std::optional<std::string> problem = EmulationProblem(ParsePlatform("linux/riscv64"), off.path());
  REQUIRE(problem);
  CHECK_THAT(*problem, Catch::Contains("binfmt_misc is disabled"));

  TempDir unmounted;
  problem = EmulationProblem(ParsePlatform("linux/riscv64"), unmounted.path());
  REQUIRE(problem);
  CHECK_THAT(*problem, Catch::Contains("binfmt_misc is not mounted"));
  CHECK_THAT(*problem, Catch::Contains("mount -t binfmt_misc"));
}

TEST_CASE("an emulator registered without the F flag is named: it would have to be inside the image") {
  BinfmtDir b;
  std::string entry = kRiscv64Entry;
  entry.replace(entry.find("flags: PF"), 9, "flags: P");
  WriteFile(b.dir / "qemu-riscv64", entry);
  std::optional<std::string> problem = EmulationProblem(ParsePlatform("linux/riscv64"), b.path());
  REQUIRE(problem);
  CHECK_THAT(*problem, Catch::Contains("qemu-riscv64 (/usr/libexec/qemu-binfmt/riscv64-binfmt-P)"));
  CHECK_THAT(*problem, Catch::Contains("without the F flag"));
}
