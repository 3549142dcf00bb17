// Runs the on-start/on-change scripts the way the original peer-finder does:
//   bash -c "echo -e '<peer1>\n<peer2>' | <script>"
// so the script is shell text whose first pipeline element reads the peers (one per line, with
// a trailing newline), bash's own stdin is /dev/null, stdout and stderr are captured together
// and returned once bash has exited and every holder of the pipe has closed it. Environment and
// working directory are inherited. Blocks the calling thread; single-threaded.
#pragma once

#include <string>

namespace petdns::client {

struct ScriptResult {
  std::string output;  // combined stdout + stderr
  // Empty on success; otherwise Go's error text: "exit status 3", "signal: killed",
  // `exec: "bash": executable file not found in $PATH`.
  std::string error;
};

class ScriptRunner {
 public:
  virtual ~ScriptRunner() = default;
  // `peers` is the sorted peer list joined with '\n' (no trailing newline).
  virtual ScriptResult Run(const std::string& script, const std::string& peers) = 0;
};

class BashScriptRunner final : public ScriptRunner {
 public:
  ScriptResult Run(const std::string& script, const std::string& peers) override;
};

// The `bash -c` argument for `script` and `peers`, exactly as the original builds it.
std::string OriginalShellCommand(const std::string& script, const std::string& peers);

// Go's exec.LookPath over $PATH: the first regular executable file called `name`, or "".
std::string LookPath(const std::string& name);

// Go's os.ProcessState.String() for a wait(2) status: "exit status 1", "signal: terminated".
std::string GoWaitStatus(int status);

}  // namespace petdns::client
