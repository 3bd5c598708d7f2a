// `bld build --secret` and `--ssh`: what RUN --mount=type=secret and
// type=ssh steps get, read as docker buildx reads these flags.
//
//   --secret id=ID,src=FILE     the file's content (source= too; type=file)
//   --secret id=ID,env=VAR      the variable's value (type=env)
//   --secret id=ID              the variable ID if it is set, else the file ID
//   --ssh ID[=SOCKET|KEY[,KEY...]]   ID's agent: the socket given, the keys
//                               given (loaded into an ssh-agent that bld
//                               starts for the build and stops after it), or
//                               without a value $SSH_AUTH_SOCK
//
// A secret is at most 500 KiB, BuildKit's limit. Values stay in memory and
// reach a step only through the container's setup (runner/run_mounts.h).
//
// Thread-safety: SshAgents belongs to one thread.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "store/unique_fd.h"

namespace bld::cli {

// Reads every --secret; throws naming the flag for a bad spec or an
// unreadable source.
std::map<std::string, std::string> ReadSecrets(const std::vector<std::string>& specs);

// The agents of --ssh: sockets by id, and the ssh-agent processes started
// for key files, stopped by the destructor.
class SshAgents {
 public:
  // `scratch_dir`: where the sockets of started agents go (a private
  // directory is made in it).
  SshAgents(const std::vector<std::string>& specs, const std::string& scratch_dir);
  ~SshAgents();
  SshAgents(const SshAgents&) = delete;
  SshAgents& operator=(const SshAgents&) = delete;

  const std::map<std::string, std::string>& sockets() const { return sockets_; }

 private:
  // An ssh-agent runs a keeper command as its parent and ends after it; the
  // keeper ends when `keep` (its stdin) closes, however bld ends.
  struct Agent {
    pid_t keeper = -1;
    pid_t agent = -1;
    store::UniqueFd keep;
  };
  std::string StartAgent(const std::string& id, const std::vector<std::string>& keys);
  void Stop();

  std::map<std::string, std::string> sockets_;
  std::vector<Agent> agents_;
  std::string dir_;
};

}  // namespace bld::cli
