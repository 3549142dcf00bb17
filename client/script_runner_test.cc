#include "client/script_runner.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

namespace petdns::client {
namespace {

constexpr char kPeers[] =
    "web-0.nginx.default.svc.cluster.local\nweb-1.nginx.default.svc.cluster.local";

TEST(ScriptRunner, BuildsTheOriginalCommand) {
  EXPECT_EQ(OriginalShellCommand("tee", "a\nb"), "echo -e 'a\nb' | tee");
}

TEST(ScriptRunner, PipesPeersWithTrailingNewline) {
  BashScriptRunner runner;
  ScriptResult r = runner.Run("tee", kPeers);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.output, std::string(kPeers) + "\n");
}

TEST(ScriptRunner, ScriptIsShellText) {
  BashScriptRunner runner;
  ScriptResult r = runner.Run("echo START; cat", "a");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.output, "START\n");
  r = runner.Run("wc -l | tr -d ' ' && echo done >&2", "a\nb\nc");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.output, "3\ndone\n");
}

TEST(ScriptRunner, BashFeaturesWork) {
  BashScriptRunner runner;
  ScriptResult r = runner.Run("{ readarray PEERS; echo ${#PEERS[@]}; }", "a\nb");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.output, "2\n");
}

TEST(ScriptRunner, ExitStatusIsAnError) {
  BashScriptRunner runner;
  ScriptResult r = runner.Run("cat >/dev/null; echo failing; exit 3", "a");
  EXPECT_EQ(r.error, "exit status 3");
  EXPECT_EQ(r.output, "failing\n");
}

TEST(ScriptRunner, MissingProgramGivesBashMessageWithPeerCountLine) {
  BashScriptRunner runner;
  ScriptResult r = runner.Run("/nonexistent/script.sh", kPeers);
  EXPECT_EQ(r.error, "exit status 127");
  EXPECT_EQ(r.output, "bash: line 2: /nonexistent/script.sh: No such file or directory\n");
}

TEST(ScriptRunner, SignalIsReportedLikeGo) {
  BashScriptRunner runner;
  ScriptResult r = runner.Run("cat >/dev/null; kill -KILL $$", "a");
  EXPECT_EQ(r.error, "signal: killed");
  EXPECT_EQ(GoWaitStatus(0), "exit status 0");
  EXPECT_EQ(GoWaitStatus(15), "signal: terminated");
}

TEST(ScriptRunner, InheritsEnvironment) {
  setenv("PETDNS_PEER_FINDER_TEST", "inherited", 1);
  BashScriptRunner runner;
  ScriptResult r = runner.Run("cat >/dev/null; echo $PETDNS_PEER_FINDER_TEST", "a");
  unsetenv("PETDNS_PEER_FINDER_TEST");
  EXPECT_EQ(r.output, "inherited\n");
}

TEST(ScriptRunner, WithoutBashOnPathReportsGoExecError) {
  const char* old = std::getenv("PATH");
  std::string saved = old == nullptr ? "" : old;
  setenv("PATH", "/nonexistent", 1);
  BashScriptRunner runner;
  ScriptResult r = runner.Run("tee", "a");
  setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(r.error, "exec: \"bash\": executable file not found in $PATH");
  EXPECT_EQ(r.output, "");
}

TEST(ScriptRunner, LookPathFindsBash) {
  EXPECT_NE(LookPath("bash"), "");
  EXPECT_EQ(LookPath("petdns-no-such-program"), "");
}

}  // namespace
}  // namespace petdns::client
