#include "client/hosts_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "client/unique_fd.h"

namespace petdns::client {
namespace {

Unexpected IoError(const std::string& what, int err) {
  return Unexpected(ErrorCode::kIo, what + ": " + std::strerror(err));
}

// Line boundaries of the first line equal to `marker` at or after `from` (ignoring a trailing
// '\r'): [start, end) where end is past its '\n'. npos when absent.
std::pair<size_t, size_t> FindMarkerLine(std::string_view text, std::string_view marker,
                                         size_t from) {
  size_t pos = from;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line =
        text.substr(pos, (nl == std::string_view::npos ? text.size() : nl) - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == marker) return {pos, end};
    pos = end;
  }
  return {std::string_view::npos, std::string_view::npos};
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write " + path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<std::string> ReadWhole(const std::string& path, bool& exists, mode_t& mode) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  exists = fd.valid();
  mode = 0644;
  if (!fd.valid()) {
    if (errno == ENOENT) return std::string();
    return IoError("open " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0) mode = st.st_mode & 07777;
  std::string text;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("read " + path, errno);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace

std::vector<std::string> HostNamesFor(std::string_view fqdn) {
  while (!fqdn.empty() && fqdn.back() == '.') fqdn.remove_suffix(1);
  std::vector<std::string> names;
  if (fqdn.empty()) return names;
  names.emplace_back(fqdn);
  size_t first = fqdn.find('.');
  if (first == std::string_view::npos) return names;
  size_t second = fqdn.find('.', first + 1);
  if (second != std::string_view::npos) names.emplace_back(fqdn.substr(0, second));
  names.emplace_back(fqdn.substr(0, first));
  return names;
}

std::string RenderHostsFile(std::string_view existing, const std::vector<HostsEntry>& entries) {
  std::string block;
  block.append(kHostsBeginMarker).append("\n");
  for (const HostsEntry& e : entries) {
    block.append(e.address);
    for (size_t i = 0; i < e.names.size(); ++i)
      block.append(i == 0 ? "\t" : " ").append(e.names[i]);
    block.append("\n");
  }
  block.append(kHostsEndMarker).append("\n");

  auto [begin, begin_end] = FindMarkerLine(existing, kHostsBeginMarker, 0);
  if (begin == std::string_view::npos) {
    std::string out(existing);
    if (!out.empty() && out.back() != '\n') out += '\n';
    return out + block;
  }
  auto [end, end_end] = FindMarkerLine(existing, kHostsEndMarker, begin_end);
  if (end == std::string_view::npos) end_end = existing.size();
  std::string out(existing.substr(0, begin));
  out += block;
  out.append(existing.substr(end_end));
  return out;
}

HostsFileWriter::HostsFileWriter(std::string path, RenameFn rename)
    : path_(std::move(path)), rename_(std::move(rename)) {
  if (!rename_) rename_ = [](const char* from, const char* to) { return std::rename(from, to); };
}

namespace {

// True when `path` is mounted on its own (a bind mount, as kubelet does for /etc/hosts): its
// mount differs from its folder's. statx's mount id sees bind mounts of the same file system.
bool IsMountPoint(const std::string& path, const std::string& dir) {
  struct statx file {};
  struct statx folder {};
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_MNT_ID, &file) == 0 &&
      ::statx(AT_FDCWD, dir.c_str(), 0, STATX_MNT_ID, &folder) == 0 &&
      (file.stx_mask & STATX_MNT_ID) != 0 && (folder.stx_mask & STATX_MNT_ID) != 0) {
    return file.stx_mnt_id != folder.stx_mnt_id;
  }
  return file.stx_dev_major != folder.stx_dev_major || file.stx_dev_minor != folder.stx_dev_minor;
}

}  // namespace

Result<HostsWrite> HostsFileWriter::Write(const std::vector<HostsEntry>& entries) {
  bool exists = false;
  mode_t mode = 0644;
  Result<std::string> old = ReadWhole(path_, exists, mode);
  if (!old) return std::move(old).error();
  std::string text = RenderHostsFile(*old, entries);
  if (exists && text == *old) return HostsWrite::kUnchanged;

  size_t slash = path_.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  std::string temp = (slash == std::string::npos ? "" : dir) + "." + base + ".petdns-XXXXXX";
  // A file mounted over its folder's file system (/etc/hosts in a pod) cannot be replaced by a
  // rename: rewrite it in place straight away, without a temporary file in the folder.
  bool mount_point = exists && IsMountPoint(path_, dir);
  UniqueFd fd(mount_point ? -1 : ::mkostemp(temp.data(), O_CLOEXEC));
  bool in_place = mount_point;
  if (mount_point) {
    // fall through to the in-place rewrite below
  } else if (!fd.valid()) {
    if (!exists) return IoError("create temporary file " + temp, errno);
    in_place = true;  // e.g. a read-only folder around a writable (mounted) file
  } else {
    Status wrote = WriteAll(fd.get(), text, temp);
    if (wrote && ::fchmod(fd.get(), mode) != 0) wrote = IoError("chmod " + temp, errno);
    if (wrote && ::fsync(fd.get()) != 0) wrote = IoError("fsync " + temp, errno);
    fd.Reset();
    if (wrote && rename_(temp.c_str(), path_.c_str()) == 0) return HostsWrite::kReplaced;
    int err = errno;
    ::unlink(temp.c_str());
    if (!wrote) return std::move(wrote).error();
    if (err != EBUSY && err != EXDEV) return IoError("rename " + temp + " to " + path_, err);
    in_place = true;
  }
  // The file is a mount point (or its folder is not writable): rewrite its content in place.
  UniqueFd out(::open(path_.c_str(), O_WRONLY | O_CLOEXEC));
  if (!out.valid()) return IoError("open " + path_, errno);
  if (Status s = WriteAll(out.get(), text, path_); !s) return std::move(s).error();
  if (::ftruncate(out.get(), static_cast<off_t>(text.size())) != 0) {
    return IoError("truncate " + path_, errno);
  }
  if (::fsync(out.get()) != 0) return IoError("fsync " + path_, errno);
  return in_place ? HostsWrite::kRewrittenInPlace : HostsWrite::kReplaced;
}

}  // namespace petdns::client
