#include "client/script_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "client/unique_fd.h"

namespace petdns::client {
namespace {

// Go's signal names (syscall.signals on Linux) for the statuses scripts usually die of.
std::string GoSignalName(int sig) {
  switch (sig) {
    case SIGHUP:
      return "hangup";
    case SIGINT:
      return "interrupt";
    case SIGQUIT:
      return "quit";
    case SIGILL:
      return "illegal instruction";
    case SIGTRAP:
      return "trace/breakpoint trap";
    case SIGABRT:
      return "aborted";
    case SIGBUS:
      return "bus error";
    case SIGFPE:
      return "floating point exception";
    case SIGKILL:
      return "killed";
    case SIGUSR1:
      return "user defined signal 1";
    case SIGSEGV:
      return "segmentation fault";
    case SIGUSR2:
      return "user defined signal 2";
    case SIGPIPE:
      return "broken pipe";
    case SIGALRM:
      return "alarm clock";
    case SIGTERM:
      return "terminated";
    case SIGXCPU:
      return "CPU time limit exceeded";
    case SIGXFSZ:
      return "file size limit exceeded";
    case SIGSYS:
      return "bad system call";
    default:
      return "signal " + std::to_string(sig);
  }
}

std::string LowerErrno(int err) {
  std::string s = std::strerror(err);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

}  // namespace

std::string OriginalShellCommand(const std::string& script, const std::string& peers) {
  return "echo -e '" + peers + "' | " + script;
}

std::string LookPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return IsExecutableFile(name) ? name : "";
  const char* env = std::getenv("PATH");
  std::string path = env == nullptr ? "" : env;
  size_t start = 0;
  while (true) {
    size_t colon = path.find(':', start);
    std::string dir =
        path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (dir.empty()) dir = ".";  // an empty PATH element means the current directory
    std::string candidate = dir + "/" + name;
    if (IsExecutableFile(candidate)) return candidate;
    if (colon == std::string::npos) return "";
    start = colon + 1;
  }
}

std::string GoWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    std::string s = "signal: " + GoSignalName(WTERMSIG(status));
    if (WCOREDUMP(status)) s += " (core dumped)";
    return s;
  }
  return "exit status " + std::to_string(status);
}

ScriptResult BashScriptRunner::Run(const std::string& script, const std::string& peers) {
  ScriptResult result;
  std::string bash = LookPath("bash");
  if (bash.empty()) {
    result.error = "exec: \"bash\": executable file not found in $PATH";
    return result;
  }
  std::string command = OriginalShellCommand(script, peers);

  int output_pipe[2];
  int exec_pipe[2];  // reports a failed execve back to us, closed by a successful one
  if (::pipe2(output_pipe, O_CLOEXEC) != 0) {
    result.error = "pipe2: " + LowerErrno(errno);
    return result;
  }
  UniqueFd out_read(output_pipe[0]);
  UniqueFd out_write(output_pipe[1]);
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    result.error = "pipe2: " + LowerErrno(errno);
    return result;
  }
  UniqueFd exec_read(exec_pipe[0]);
  UniqueFd exec_write(exec_pipe[1]);
  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!dev_null.valid()) {
    result.error = "open /dev/null: " + LowerErrno(errno);
    return result;
  }
  // Everything the child needs is prepared before fork: it only calls async-signal-safe code.
  std::vector<char*> argv = {const_cast<char*>("bash"), const_cast<char*>("-c"), command.data(),
                             nullptr};
  sigset_t all;
  sigfillset(&all);
  sigset_t old_mask;
  pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: default dispositions and an empty mask, stdin /dev/null, stdout+stderr the pipe.
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(dev_null.get(), 0) < 0 || ::dup2(out_write.get(), 1) < 0 ||
        ::dup2(out_write.get(), 2) < 0) {
      int err = errno;
      ssize_t ignored = ::write(exec_write.get(), &err, sizeof(err));
      (void)ignored;
      _exit(127);
    }
    ::execv(bash.c_str(), argv.data());
    int err = errno;
    ssize_t ignored = ::write(exec_write.get(), &err, sizeof(err));
    (void)ignored;
    _exit(127);
  }
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (pid < 0) {
    result.error = "fork/exec " + bash + ": " + LowerErrno(fork_errno);
    return result;
  }
  out_write.Reset();
  exec_write.Reset();
  dev_null.Reset();

  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(exec_read.get(), &exec_errno, sizeof(exec_errno));
  } while (got < 0 && errno == EINTR);
  bool exec_failed = got == static_cast<ssize_t>(sizeof(exec_errno));

  char buf[4096];
  while (!exec_failed) {
    ssize_t n = ::read(out_read.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exec_failed) {
    result.output.clear();
    result.error = "fork/exec " + bash + ": " + LowerErrno(exec_errno);
    return result;
  }
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) result.error = GoWaitStatus(status);
  return result;
}

}  // namespace petdns::client
