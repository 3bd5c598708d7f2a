#include "runner/init_plan.h"

#include <nlohmann/json.hpp>

#include "store/error.h"

namespace bld::runner {

namespace {

using nlohmann::json;

json OverlayJson(const OverlayLayers& o) {
  return {{"lower", o.lowerdirs}, {"upper", o.upperdir}, {"work", o.workdir}};
}

OverlayLayers ParseOverlay(const json& j) {
  return {j.at("lower").get<std::vector<std::string>>(), j.at("upper").get<std::string>(),
          j.at("work").get<std::string>()};
}

json RunJson(const RunConfig& r) {
  return {{"argv", r.argv},         {"env", r.env},
          {"user", r.user},         {"group_add", r.group_add},
          {"workdir", r.workdir},   {"hostname", r.hostname},
          {"network", static_cast<int>(r.network)}};
}

RunConfig ParseRun(const json& j) {
  RunConfig r;
  r.argv = j.at("argv").get<std::vector<std::string>>();
  r.env = j.at("env").get<std::vector<std::string>>();
  r.user = j.at("user").get<std::string>();
  r.group_add = j.at("group_add").get<std::vector<std::string>>();
  r.workdir = j.at("workdir").get<std::string>();
  r.hostname = j.at("hostname").get<std::string>();
  r.network = static_cast<NetworkMode>(j.at("network").get<int>());
  return r;
}

json SecurityJson(const ProcessSecurity& s) {
  json rlimits = json::array();
  for (const Rlimit& r : s.rlimits) rlimits.push_back({r.resource, r.soft, r.hard});
  return {{"capabilities", s.capabilities},
          {"no_new_privileges", s.no_new_privileges},
          {"seccomp", json::binary(std::vector<uint8_t>(s.seccomp.bpf.begin(), s.seccomp.bpf.end()))},
          {"seccomp_flags", s.seccomp.flags},
          {"rlimits", rlimits}};
}

ProcessSecurity ParseSecurity(const json& j) {
  ProcessSecurity s;
  s.capabilities = j.at("capabilities").get<uint64_t>();
  s.no_new_privileges = j.at("no_new_privileges").get<bool>();
  const auto& bpf = j.at("seccomp").get_binary();
  s.seccomp.bpf.assign(bpf.begin(), bpf.end());
  s.seccomp.flags = j.at("seccomp_flags").get<unsigned>();
  for (const json& r : j.at("rlimits"))
    s.rlimits.push_back({r.at(0).get<int>(), r.at(1).get<uint64_t>(), r.at(2).get<uint64_t>()});
  return s;
}

json RootfsJson(const RootfsPlan& r) {
  json tmpfs = json::array();
  for (const TmpfsMount& t : r.tmpfs) tmpfs.push_back({t.target, t.flags, t.data});
  json devices = json::array();
  for (const DeviceNode& d : r.devices) devices.push_back({d.path, d.mode, d.major, d.minor, d.uid, d.gid});
  return {{"overlay", OverlayJson(r.overlay)},
          {"rootfs", r.rootfs},
          {"etc_files_dir", r.etc_files_dir},
          {"writable_sysfs", r.writable_sysfs},
          {"mask_kernel_paths", r.mask_kernel_paths},
          {"read_only", r.read_only},
          {"tmpfs", tmpfs},
          {"devices", devices}};
}

RootfsPlan ParseRootfs(const json& j) {
  RootfsPlan r;
  r.overlay = ParseOverlay(j.at("overlay"));
  r.rootfs = j.at("rootfs").get<std::string>();
  r.etc_files_dir = j.at("etc_files_dir").get<std::string>();
  r.writable_sysfs = j.at("writable_sysfs").get<bool>();
  r.mask_kernel_paths = j.at("mask_kernel_paths").get<bool>();
  r.read_only = j.at("read_only").get<bool>();
  for (const json& t : j.at("tmpfs"))
    r.tmpfs.push_back({t.at(0).get<std::string>(), t.at(1).get<unsigned long>(), t.at(2).get<std::string>()});
  for (const json& d : j.at("devices"))
    r.devices.push_back({d.at(0).get<std::string>(), d.at(1).get<mode_t>(), d.at(2).get<unsigned>(),
                         d.at(3).get<unsigned>(), d.at(4).get<uid_t>(), d.at(5).get<gid_t>()});
  return r;
}

json OpJson(const FileOp& op) {
  json j = {{"type", static_cast<int>(op.type)},
            {"dest", op.dest},
            {"context_path", op.context_path},
            {"source_fd", op.source_fd},
            {"source_path", op.source_path},
            {"basename_if_dir", op.basename_if_dir},
            {"link_target", op.link_target},
            {"mode", op.mode},
            {"mtime", {op.mtime_sec, op.mtime_nsec}},
            {"owner", {op.uid, op.gid}},
            {"keep_existing", op.keep_existing}};
  // Bytes, not text: a heredoc may hold anything.
  if (op.content) j["content"] = json::binary(std::vector<uint8_t>(op.content->begin(), op.content->end()));
  return j;
}

FileOp ParseOp(const json& j) {
  FileOp op;
  op.type = static_cast<FileOp::Type>(j.at("type").get<int>());
  op.dest = j.at("dest").get<std::string>();
  op.context_path = j.at("context_path").get<std::string>();
  op.source_fd = j.at("source_fd").get<int>();
  op.source_path = j.at("source_path").get<std::string>();
  op.basename_if_dir = j.at("basename_if_dir").get<std::string>();
  op.link_target = j.at("link_target").get<std::string>();
  op.mode = j.at("mode").get<mode_t>();
  op.mtime_sec = j.at("mtime").at(0).get<int64_t>();
  op.mtime_nsec = j.at("mtime").at(1).get<int64_t>();
  op.uid = j.at("owner").at(0).get<uid_t>();
  op.gid = j.at("owner").at(1).get<gid_t>();
  op.keep_existing = j.at("keep_existing").get<bool>();
  if (j.contains("content")) {
    const auto& bytes = j.at("content").get_binary();
    op.content = std::string(bytes.begin(), bytes.end());
  }
  return op;
}

json FilesJson(const FileStepPlan& f) {
  json ops = json::array();
  for (const FileOp& op : f.plan.ops) ops.push_back(OpJson(op));
  json j = {{"ops", ops}, {"owner", f.plan.owner}, {"context_fd", f.plan.context_fd}, {"source_root", f.source_root}};
  if (f.plan.chmod) j["chmod"] = *f.plan.chmod;
  if (f.source) j["source"] = OverlayJson(*f.source);
  return j;
}

FileStepPlan ParseFiles(const json& j) {
  FileStepPlan f;
  for (const json& op : j.at("ops")) f.plan.ops.push_back(ParseOp(op));
  f.plan.owner = j.at("owner").get<std::string>();
  f.plan.context_fd = j.at("context_fd").get<int>();
  if (j.contains("chmod")) f.plan.chmod = j.at("chmod").get<mode_t>();
  if (j.contains("source")) f.source = ParseOverlay(j.at("source"));
  f.source_root = j.at("source_root").get<std::string>();
  return f;
}

json MountJson(const MountPlan& m) {
  json j = {{"kind", static_cast<int>(m.kind)},
            {"target", m.target},
            {"directory", m.directory},
            {"ro", m.read_only},
            {"root", m.root},
            {"path", m.path},
            {"seed_root", m.seed_root},
            {"seed_path", m.seed_path},
            {"size", m.size},
            // Bytes, not text: a secret may hold anything.
            {"content", json::binary(std::vector<uint8_t>(m.content.begin(), m.content.end()))},
            {"file", {m.mode, m.uid, m.gid}}};
  if (m.overlay) j["overlay"] = OverlayJson(*m.overlay);
  if (m.seed) j["seed"] = OverlayJson(*m.seed);
  return j;
}

MountPlan ParseMount(const json& j) {
  MountPlan m;
  m.kind = static_cast<MountPlan::Kind>(j.at("kind").get<int>());
  m.target = j.at("target").get<std::string>();
  m.directory = j.at("directory").get<bool>();
  m.read_only = j.at("ro").get<bool>();
  m.root = j.at("root").get<std::string>();
  m.path = j.at("path").get<std::string>();
  m.seed_root = j.at("seed_root").get<std::string>();
  m.seed_path = j.at("seed_path").get<std::string>();
  m.size = j.at("size").get<uint64_t>();
  const auto& bytes = j.at("content").get_binary();
  m.content = std::string(bytes.begin(), bytes.end());
  m.mode = j.at("file").at(0).get<mode_t>();
  m.uid = j.at("file").at(1).get<uid_t>();
  m.gid = j.at("file").at(2).get<gid_t>();
  if (j.contains("overlay")) m.overlay = ParseOverlay(j.at("overlay"));
  if (j.contains("seed")) m.seed = ParseOverlay(j.at("seed"));
  return m;
}

}  // namespace

std::string SerializeInitPlan(const InitPlan& p) {
  json binds = json::array();
  for (const BindMount& b : p.binds)
    binds.push_back({{"source", b.source}, {"target", b.target}, {"ro", b.read_only}, {"copy_up", b.copy_up}});
  json j = {{"rootfs", RootfsJson(p.rootfs)},
            {"run", RunJson(p.run)},
            {"security", SecurityJson(p.security)},
            {"hostname", p.hostname},
            {"join_network_fd", p.join_network_fd},
            {"binds", binds},
            {"cgroup_procs", p.cgroup_procs},
            {"output_fd", p.output_fd},
            {"error_fd", p.error_fd}};
  if (p.stdio)
    j["stdio"] = {p.stdio->in, p.stdio->out, p.stdio->err, p.stdio->console_socket};
  if (p.files) j["files"] = FilesJson(*p.files);
  if (!p.mounts.empty()) {
    json mounts = json::array();
    for (const MountPlan& m : p.mounts) mounts.push_back(MountJson(m));
    j["mounts"] = mounts;
  }
  // CBOR: it carries strings as bytes, and argv, env and paths need not be
  // UTF-8.
  std::vector<uint8_t> bytes = json::to_cbor(j);
  return std::string(bytes.begin(), bytes.end());
}

InitPlan ParseInitPlan(std::string_view bytes) {
  try {
    json j = json::from_cbor(bytes);
    InitPlan p;
    p.rootfs = ParseRootfs(j.at("rootfs"));
    p.run = ParseRun(j.at("run"));
    p.security = ParseSecurity(j.at("security"));
    p.hostname = j.at("hostname").get<std::string>();
    p.join_network_fd = j.at("join_network_fd").get<int>();
    for (const json& b : j.at("binds"))
      p.binds.push_back({b.at("source").get<std::string>(), b.at("target").get<std::string>(), b.at("ro").get<bool>(),
                         b.at("copy_up").get<bool>()});
    p.cgroup_procs = j.at("cgroup_procs").get<std::vector<std::string>>();
    p.output_fd = j.at("output_fd").get<int>();
    p.error_fd = j.at("error_fd").get<int>();
    if (j.contains("stdio")) {
      const json& s = j.at("stdio");
      p.stdio = StdioFds{s.at(0).get<int>(), s.at(1).get<int>(), s.at(2).get<int>(), s.at(3).get<int>()};
    }
    if (j.contains("files")) p.files = ParseFiles(j.at("files"));
    if (j.contains("mounts"))
      for (const json& m : j.at("mounts")) p.mounts.push_back(ParseMount(m));
    return p;
  } catch (const json::exception& e) {
    throw Error(std::string("runner: the container's init plan cannot be read: ") + e.what());
  }
}

}  // namespace bld::runner
