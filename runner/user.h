// USER: which uid, gid and supplementary groups a container process gets,
// and its HOME, resolved the way Docker resolves them.
//
// A user spec is `name|uid[:group|gid]`. Names are looked up in the IMAGE's
// /etc/passwd and /etc/group (read from the container's root, never the
// host's: the same name may mean another uid there). The rules are those of
// runc's user lookup (moby/sys/user GetExecUser), which Docker and BuildKit
// use:
//  - an empty spec is root: uid 0, gid 0;
//  - a numeric user is a uid whether or not passwd lists it; when passwd
//    lists it, its gid and home come from there, else gid 0 and home "/";
//  - a user name must be in passwd:
//    "unable to find user foo: no matching entries in passwd file";
//  - an explicit group (name or gid) replaces the primary gid and no
//    supplementary groups are set; a group name must be in /etc/group;
//  - without one, the supplementary groups are every group of /etc/group
//    that lists the user's name as a member;
//  - the first matching line wins; missing files are empty files;
//  - `--group-add` groups (names in /etc/group, or gids) are added to the
//    supplementary groups in every case, as runc adds them.
//
// Thread safety: the functions keep no state.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bld::runner {

struct ExecUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
  std::string home = "/";

  friend bool operator==(const ExecUser&, const ExecUser&) = default;
};

// Resolves `spec` against the contents of passwd and group files (nullopt:
// the file does not exist). Throws bld::Error with Docker's wording when a
// name is not found or an id is out of range.
ExecUser ResolveUser(std::string_view spec, const std::optional<std::string>& passwd,
                     const std::optional<std::string>& group, const std::vector<std::string>& group_add = {});

// Resolves `spec` and `group_add` against /etc/passwd and /etc/group of the
// current root (call after pivot_root).
ExecUser LookUpUser(std::string_view spec, const std::vector<std::string>& group_add = {});

// Makes the process `user`: supplementary groups, gid, uid (real, effective
// and saved). Leaving uid 0 empties the permitted and effective capability
// sets, as it does in Docker: a non-root process has capabilities only from
// its bounding set, through setuid-root or file-capability programs.
void SwitchUser(const ExecUser& user);

}  // namespace bld::runner
