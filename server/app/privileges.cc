#include "server/app/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace petdns::app {
namespace {

Error Failed(const std::string& what, int error) {
  return Error{ErrorCode::kUnavailable, what + ": " + std::strerror(error)};
}

}  // namespace

Result<RunAs> LookUpRunAs(const std::string& user, const std::string& group) {
  RunAs out;
  out.user = user;
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<size_t>(size) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    if (rc != 0) return Failed("cannot look up user '" + user + "'", rc);
    return MakeError(ErrorCode::kInvalidArgument,
                     "[global] user: user '" + user + "' does not exist");
  }
  out.uid = pw.pw_uid;
  out.gid = pw.pw_gid;
  if (group.empty()) {
    ::group* gr = getgrgid(out.gid);  // only for the log line
    out.group = gr != nullptr ? gr->gr_name : std::to_string(out.gid);
    return out;
  }
  out.group = group;
  size = sysconf(_SC_GETGR_R_SIZE_MAX);
  buffer.assign(size > 0 ? static_cast<size_t>(size) : 16384, 0);
  ::group gr{};
  ::group* found_group = nullptr;
  rc = getgrnam_r(group.c_str(), &gr, buffer.data(), buffer.size(), &found_group);
  if (found_group == nullptr) {
    if (rc != 0) return Failed("cannot look up group '" + group + "'", rc);
    return MakeError(ErrorCode::kInvalidArgument,
                     "[global] group: group '" + group + "' does not exist");
  }
  out.gid = gr.gr_gid;
  return out;
}

Status DropPrivileges(const RunAs& run_as) {
  const std::string what = "cannot switch to user '" + run_as.user + "'";
  if (getuid() == run_as.uid && geteuid() == run_as.uid && getgid() == run_as.gid &&
      getegid() == run_as.gid) {
    return {};  // started as that user already
  }
  if (geteuid() != 0) {
    return MakeError(ErrorCode::kUnavailable,
                     what + ": petdns runs as uid " + std::to_string(geteuid()) +
                         "; only root can switch users (start as root, or remove 'user')");
  }
  // Supplementary groups first: root's would otherwise survive the switch.
  const gid_t groups[] = {run_as.gid};
  if (setgroups(1, groups) != 0) return Failed(what + ": setgroups", errno);
  if (setgid(run_as.gid) != 0) return Failed(what + ": setgid", errno);
  if (setuid(run_as.uid) != 0) return Failed(what + ": setuid", errno);
  if (run_as.uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
    return MakeError(ErrorCode::kUnavailable, what + ": root could be regained after setuid");
  }
  return {};
}

}  // namespace petdns::app
