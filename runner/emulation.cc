#include "runner/emulation.h"

#include <dirent.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace bld::runner {

namespace {

// The first bytes of an ELF executable of an architecture: e_ident (class,
// data encoding, version) then e_type (ET_EXEC) and e_machine.
struct ElfKind {
  uint8_t elf_class;  // 1: 32-bit, 2: 64-bit
  uint8_t data;       // 1: little-endian, 2: big-endian
  uint16_t machine;   // EM_*
  const char* qemu;   // the name of Debian's emulator: qemu-<name>-static
};

const std::map<std::string, ElfKind>& ElfKinds() {
  static const std::map<std::string, ElfKind> kinds{
      {"amd64", {2, 1, 62, "x86_64"}},   {"386", {1, 1, 3, "i386"}},         {"arm64", {2, 1, 183, "aarch64"}},
      {"arm", {1, 1, 40, "arm"}},        {"ppc64le", {2, 1, 21, "ppc64le"}}, {"s390x", {2, 2, 22, "s390x"}},
      {"riscv64", {2, 1, 243, "riscv64"}}, {"mips64le", {2, 1, 8, "mips64el"}},
  };
  return kinds;
}

std::vector<uint8_t> ElfHeader(const ElfKind& kind) {
  std::vector<uint8_t> h(20, 0);
  h[0] = 0x7f;
  h[1] = 'E';
  h[2] = 'L';
  h[3] = 'F';
  h[4] = kind.elf_class;
  h[5] = kind.data;
  h[6] = 1;  // EV_CURRENT
  bool big = kind.data == 2;
  h[16 + (big ? 1 : 0)] = 2;  // ET_EXEC
  h[18 + (big ? 1 : 0)] = static_cast<uint8_t>(kind.machine & 0xff);
  h[18 + (big ? 0 : 1)] = static_cast<uint8_t>(kind.machine >> 8);
  return h;
}

std::vector<uint8_t> Hex(const std::string& text) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < text.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(text.substr(i, 2), nullptr, 16)));
  return out;
}

// One binfmt_misc entry, as its file in the binfmt_misc directory shows it.
struct BinfmtEntry {
  std::string name;
  bool enabled = false;
  std::string interpreter;
  std::string flags;
  size_t offset = 0;
  std::vector<uint8_t> magic, mask;
  bool is_magic = false;
};

BinfmtEntry ReadEntry(const std::string& dir, const std::string& name) {
  BinfmtEntry e;
  e.name = name;
  std::ifstream in(dir + "/" + name);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (key == "enabled") {
      e.enabled = true;
    } else if (key == "interpreter") {
      e.interpreter = value;
    } else if (key == "flags:") {
      e.flags = value;
    } else if (key == "offset") {
      e.offset = std::stoul(value);
    } else if (key == "magic") {
      e.magic = Hex(value);
      e.is_magic = true;
    } else if (key == "mask") {
      e.mask = Hex(value);
    }
  }
  return e;
}

bool Matches(const BinfmtEntry& e, const std::vector<uint8_t>& header) {
  if (!e.is_magic || e.magic.empty() || e.offset + e.magic.size() > header.size()) return false;
  for (size_t i = 0; i < e.magic.size(); ++i) {
    uint8_t m = i < e.mask.size() ? e.mask[i] : 0xff;
    if ((header[e.offset + i] & m) != (e.magic[i] & m)) return false;
  }
  return true;
}

std::vector<BinfmtEntry> ReadEntries(const std::string& dir) {
  std::vector<BinfmtEntry> entries;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return entries;
  while (dirent* ent = ::readdir(d)) {
    std::string name = ent->d_name;
    if (name == "." || name == ".." || name == "register" || name == "status") continue;
    try {
      entries.push_back(ReadEntry(dir, name));
    } catch (const std::exception&) {
      // an entry this reader does not understand matches nothing
    }
  }
  ::closedir(d);
  return entries;
}

bool StatusEnabled(const std::string& dir) {
  std::ifstream in(dir + "/status");
  std::string word;
  return (in >> word) && word == "enabled";
}

}  // namespace

bool RunsNatively(const store::Platform& platform) {
  return store::MatchRank(store::HostPlatform(), platform).has_value();
}

std::optional<std::string> EmulationProblem(const store::Platform& platform, const std::string& binfmt_dir) {
  if (RunsNatively(platform) || platform.os != "linux") return std::nullopt;
  auto kind = ElfKinds().find(platform.architecture);
  if (kind == ElfKinds().end()) return std::nullopt;
  std::string wanted = store::FormatPlatform(platform);
  std::string install = "install Debian's qemu-user-static (apt-get install qemu-user-static), which registers "
                        "qemu-" + std::string(kind->second.qemu) + " with binfmt_misc";
  if (!std::ifstream(binfmt_dir + "/status"))
    return wanted + " programs need QEMU user emulation, and binfmt_misc is not mounted at " + binfmt_dir +
           ": mount it (mount -t binfmt_misc binfmt_misc " + binfmt_dir + ") and " + install;
  if (!StatusEnabled(binfmt_dir))
    return wanted + " programs need QEMU user emulation, and binfmt_misc is disabled (" + binfmt_dir +
           "/status): enable it (echo 1 > " + binfmt_dir + "/status)";
  std::vector<uint8_t> header = ElfHeader(kind->second);
  std::optional<std::string> without_f;
  for (const BinfmtEntry& e : ReadEntries(binfmt_dir)) {
    if (!e.enabled || !Matches(e, header)) continue;
    if (e.flags.find('F') != std::string::npos) return std::nullopt;
    without_f = e.name + " (" + e.interpreter + ")";
  }
  if (without_f)
    return wanted + " programs are handed to " + *without_f + " by binfmt_misc, registered without the F flag, so "
           "the emulator would have to be inside the image: register it with the F flag (Debian's qemu-user-static "
           "does) and remove this entry";
  return wanted + " programs need QEMU user emulation, and no emulator for " + kind->second.qemu +
         " is registered with binfmt_misc (" + binfmt_dir + "): " + install;
}

}  // namespace bld::runner
