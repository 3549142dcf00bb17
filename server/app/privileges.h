// Least privilege: after every socket is bound, petdns switches to an unprivileged user
// ([global] user/group). Root is only needed to bind ports below 1024; once the real and saved
// user IDs are non-zero the kernel clears every capability, CAP_NET_BIND_SERVICE included, so the
// switch cannot be undone. Main thread only; setuid in glibc applies to every thread.
#pragma once

#include <sys/types.h>

#include <string>

#include "server/common/error.h"

namespace petdns::app {

struct RunAs {
  std::string user;  // for messages
  std::string group;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Resolves `user` (and `group`, default: the user's primary group) from the passwd and group
// databases. Error "user 'x' does not exist" and the like, ready to print.
[[nodiscard]] Result<RunAs> LookUpRunAs(const std::string& user, const std::string& group);

// setgroups (only `gid`), setgid, setuid; then checks that getting root back fails. Running
// already as that user and group succeeds without changing anything.
[[nodiscard]] Status DropPrivileges(const RunAs& run_as);

}  // namespace petdns::app
