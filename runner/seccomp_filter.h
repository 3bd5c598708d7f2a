// A container's seccomp filter: compiled by bld with libseccomp from a
// SeccompFilterPlan (seccomp_profile.h) into the BPF program the kernel
// runs, and loaded by the container's setup as late as it can be.
//
// The program is compiled in bld, before the container is started, and
// handed to the init in its plan (init_plan.h): a bad profile fails before
// anything starts, a build compiles its filter once for all its RUN steps,
// and loading it is one seccomp(2) call that allocates nothing, safe even in
// the forked child of `bld exec`.
//
// Where the load happens (container_init.cc, ExecCommand): with
// no-new-privileges, right before the exec, after the capabilities and the
// user are set. Without it the kernel lets only a process with CAP_SYS_ADMIN
// install a filter, so the filter is loaded before the capabilities are
// dropped, as runc does; the setup's last calls (capset, setgroups,
// setresuid, chdir, prctl, execve) then pass through the filter, and
// Docker's profile allows each of them.
//
// Syscall names the seccomp library does not know (newer than it, or of
// another architecture only) are left out, as runc leaves them out: they
// get the default action. Rules with two conditions on one argument become
// one rule per condition (any of them matches), as runc does; otherwise a
// rule's conditions must all hold.
//
// Thread safety: CompileSeccompFilter may run on any thread;
// LoadSeccompFilter changes the calling thread (and its future children).
#pragma once

#include <string>

#include "runner/seccomp_profile.h"

namespace bld::runner {

struct SeccompProgram {
  std::string bpf;     // struct sock_filter[], as the kernel takes them
  unsigned flags = 0;  // SECCOMP_FILTER_FLAG_*

  bool empty() const { return bpf.empty(); }
  friend bool operator==(const SeccompProgram&, const SeccompProgram&) = default;
};

// Throws bld::Error naming the rule libseccomp refused.
SeccompProgram CompileSeccompFilter(const SeccompFilterPlan& plan);

// Installs `program` on the calling thread. Throws RunnerSysError.
void LoadSeccompFilter(const SeccompProgram& program);

}  // namespace bld::runner
