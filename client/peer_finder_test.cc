#include "client/peer_finder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "client/hosts_file.h"

namespace petdns::client {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kPodResolvConf[] =
    "nameserver 10.96.0.10\n"
    "search default.svc.cluster.local svc.cluster.local cluster.local\n"
    "options ndots:5\n";
const std::string kWeb0 = "web-0.nginx.default.svc.cluster.local";
const std::string kWeb1 = "web-1.nginx.default.svc.cluster.local";
const std::string kWeb2 = "web-2.nginx.default.svc.cluster.local";

struct StopLoop {};  // thrown by the fake clock to end a loop that would run forever

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point WallNow() override { return wall_; }
  std::chrono::steady_clock::time_point MonotonicNow() override { return mono_; }
  void Sleep(std::chrono::nanoseconds d) override {
    sleeps.push_back(d);
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    mono_ += d;
    if (sleeps.size() >= max_sleeps) throw StopLoop{};
  }
  std::vector<std::chrono::nanoseconds> sleeps;
  size_t max_sleeps = 100;

 private:
  std::chrono::system_clock::time_point wall_ = std::chrono::system_clock::from_time_t(1795303717);
  std::chrono::steady_clock::time_point mono_{};
};

// SRV answers in order (the last one repeats); targets given without the root dot.
class FakeResolver final : public PeerResolver {
 public:
  Result<std::vector<std::string>> LookupSrv(const std::string& service) override {
    services.push_back(service);
    if (before_srv) before_srv(services.size());
    if (srv.empty()) return Unexpected(ErrorCode::kUnavailable, "no answers configured");
    const Result<std::vector<std::string>>& r = srv[std::min(next_++, srv.size() - 1)];
    if (!r) return r.error();
    std::vector<std::string> rooted;
    for (const std::string& t : *r) rooted.push_back(t + ".");
    return rooted;
  }
  Result<std::vector<std::string>> LookupAddresses(const std::string& fqdn) override {
    auto it = addresses.find(fqdn);
    if (it == addresses.end()) {
      return Unexpected(ErrorCode::kUnavailable,
                        "lookup " + fqdn + ". on 10.96.0.10:53: no such host");
    }
    return it->second;
  }
  void Answer(std::vector<std::string> targets) { srv.emplace_back(std::move(targets)); }
  void Fail(std::string message) {
    srv.emplace_back(Unexpected(ErrorCode::kUnavailable, std::move(message)));
  }

  std::vector<Result<std::vector<std::string>>> srv;
  std::map<std::string, std::vector<std::string>> addresses;
  std::vector<std::string> services;
  std::function<void(size_t call)> before_srv;  // e.g. to change addresses between polls

 private:
  size_t next_ = 0;
};

// Records every run; by default behaves like `tee` (prints the peers back).
class FakeScripts final : public ScriptRunner {
 public:
  ScriptResult Run(const std::string& script, const std::string& peers) override {
    calls.emplace_back(script, peers);
    if (behaviour) return behaviour(script, peers);
    return ScriptResult{peers + "\n", ""};
  }
  std::vector<std::pair<std::string, std::string>> calls;
  std::function<ScriptResult(const std::string&, const std::string&)> behaviour;
};

// Replaces the "YYYY/MM/DD HH:MM:SS " prefix of every log entry with "TS ".
std::string StripTimestamps(const std::string& log) {
  std::string out;
  std::istringstream in(log);
  std::string line;
  auto digits = [](const std::string& s, size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    }
    return true;
  };
  while (std::getline(in, line)) {
    bool stamped = line.size() >= 20 && digits(line, 0, 4) && line[4] == '/' &&
                   digits(line, 5, 2) && line[7] == '/' && digits(line, 8, 2) && line[10] == ' ' &&
                   digits(line, 11, 2) && line[13] == ':' && digits(line, 14, 2) &&
                   line[16] == ':' && digits(line, 17, 2) && line[19] == ' ';
    out += stamped ? "TS " + line.substr(20) : line;
    out += '\n';
  }
  return out;
}

class PeerFinderTest : public ::testing::Test {
 protected:
  struct Outcome {
    int code = -100;  // -100: stopped by the fake clock (still polling)
    std::string log;  // timestamps replaced by "TS"
    std::string raw;
  };

  Outcome Run(std::vector<std::string> args) {
    PeerFinderEnv env;
    env.clock = &clock_;
    env.scripts = &scripts_;
    Outcome out;
    env.stderr_sink = [&out](std::string_view text) { out.raw.append(text); };
    env.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = environment_.find(name);
      if (it == environment_.end()) return std::nullopt;
      return it->second;
    };
    env.hostname = [this]() -> Result<std::string> {
      if (!hostname_) return Unexpected(ErrorCode::kIo, "no hostname");
      return *hostname_;
    };
    env.read_file = [this](const std::string& path) -> Result<std::string> {
      auto it = files_.find(path);
      if (it == files_.end()) return Unexpected(ErrorCode::kIo, "no such file");
      return it->second;
    };
    env.make_resolver = [this](const PeerFinderOptions& options, const std::string& hostname) {
      resolver_options_ = options;
      resolver_hostname_ = hostname;
      return std::unique_ptr<PeerResolver>(std::make_unique<ForwardingResolver>(resolver_));
    };
    try {
      out.code = PeerFinderMain("/peer-finder", args, env);
    } catch (const StopLoop&) {
    }
    out.log = StripTimestamps(out.raw);
    return out;
  }

  // The loop owns its resolver; this one forwards to the fixture's fake.
  class ForwardingResolver final : public PeerResolver {
   public:
    explicit ForwardingResolver(FakeResolver& to) : to_(to) {}
    Result<std::vector<std::string>> LookupSrv(const std::string& s) override {
      return to_.LookupSrv(s);
    }
    Result<std::vector<std::string>> LookupAddresses(const std::string& f) override {
      return to_.LookupAddresses(f);
    }

   private:
    FakeResolver& to_;
  };

  std::string TempPath(const std::string& name) {
    std::string path =
        ::testing::TempDir() + "peer_finder_test_" + std::to_string(getpid()) + "_" + name;
    unlink(path.c_str());
    temp_files_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& p : temp_files_) unlink(p.c_str());
  }
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  FakeClock clock_;
  FakeScripts scripts_;
  FakeResolver resolver_;
  std::optional<std::string> hostname_ = "web-0";
  std::map<std::string, std::string> files_ = {{"/etc/resolv.conf", kPodResolvConf}};
  std::map<std::string, std::string> environment_;
  PeerFinderOptions resolver_options_;
  std::string resolver_hostname_;
  std::vector<std::string> temp_files_;
};

TEST_F(PeerFinderTest, OnStartRunsOnceThenExitsLikeTheReferenceRun) {
  resolver_.Answer({kWeb1, kWeb0});
  Outcome out = Run({"-on-start", "tee", "-service", "nginx", "-ns", "default"});
  EXPECT_EQ(out.code, 0);
  EXPECT_EQ(out.log,
            "TS Determined Domain to be default.svc.cluster.local\n"
            "TS Peer list updated\n"
            "was []\n"
            "now [web-0.nginx.default.svc.cluster.local web-1.nginx.default.svc.cluster.local]\n"
            "TS execing: tee with stdin: web-0.nginx.default.svc.cluster.local\n"
            "web-1.nginx.default.svc.cluster.local\n"
            "TS web-0.nginx.default.svc.cluster.local\n"
            "web-1.nginx.default.svc.cluster.local\n"
            "TS Peer finder exiting\n");
  ASSERT_EQ(scripts_.calls.size(), 1u);
  EXPECT_EQ(scripts_.calls[0].first, "tee");
  EXPECT_EQ(scripts_.calls[0].second, kWeb0 + "\n" + kWeb1);
  // One poll period after the script, then "Peer finder exiting".
  EXPECT_EQ(clock_.sleeps, (std::vector<std::chrono::nanoseconds>{seconds(1)}));
  EXPECT_EQ(resolver_.services, std::vector<std::string>{"nginx"});
  EXPECT_EQ(resolver_options_.resolv_conf, "/etc/resolv.conf");
  EXPECT_EQ(resolver_hostname_, "web-0");
}

TEST_F(PeerFinderTest, TimestampsAreGoLogFormat) {
  resolver_.Answer({kWeb0});
  Outcome out = Run({"-on-start", "tee", "-service", "nginx", "-ns", "default"});
  ASSERT_EQ(out.code, 0);
  // Every entry starts with "YYYY/MM/DD HH:MM:SS "; the exit line is one second later.
  EXPECT_NE(out.raw.substr(0, 20), out.raw.substr(out.raw.rfind('\n', out.raw.size() - 2) + 1, 20));
  EXPECT_TRUE(out.log.starts_with("TS Determined Domain"));
}

TEST_F(PeerFinderTest, NamespaceFromEnvironment) {
  environment_["POD_NAMESPACE"] = "default";
  resolver_.Answer({kWeb0});
  Outcome out = Run({"-on-start", "tee", "-service", "nginx"});
  EXPECT_EQ(out.code, 0);
  EXPECT_TRUE(out.log.starts_with("TS Determined Domain to be default.svc.cluster.local\n"));
}

TEST_F(PeerFinderTest, WithoutNamespaceTheDomainComesFromTheSearchPath) {
  resolver_.Answer({kWeb0});
  Outcome out = Run({"-on-start", "tee", "-service", "nginx"});
  EXPECT_EQ(out.code, 0);
  EXPECT_TRUE(out.log.starts_with("TS Determined Domain to be default.svc.cluster.local\n"));
}

TEST_F(PeerFinderTest, DomainFlagSkipsResolvConf) {
  files_.clear();
  resolver_.Answer({"web-0.nginx.prod.svc.example.com"});
  Outcome out =
      Run({"-on-start", "tee", "-service", "nginx", "-ns", "prod", "-domain", "example.com"});
  EXPECT_EQ(out.code, 0);
  EXPECT_TRUE(out.log.starts_with("TS Peer list updated\n")) << out.log;
}

TEST_F(PeerFinderTest, MissingServiceIsFatalAfterDeterminedDomain) {
  Outcome out = Run({"-on-start", "tee", "-ns", "default"});
  EXPECT_EQ(out.code, 1);
  EXPECT_EQ(out.log,
            "TS Determined Domain to be default.svc.cluster.local\n"
            "TS Incomplete args, require -on-change and/or -on-start, -service and -ns or an env "
            "var for POD_NAMESPACE.\n");
}

TEST_F(PeerFinderTest, NoArgsIsIncompleteArgs) {
  files_["/etc/resolv.conf"] = "nameserver 1.2.3.4\n";
  Outcome out = Run({});
  EXPECT_EQ(out.code, 1);
  EXPECT_EQ(out.log,
            "TS Determined Domain to be \n"
            "TS Incomplete args, require -on-change and/or -on-start, -service and -ns or an env "
            "var for POD_NAMESPACE.\n");
}

TEST_F(PeerFinderTest, UnmatchedSearchPathIsIncompleteArgs) {
  files_["/etc/resolv.conf"] = "search svc.cluster.local\n";  // no namespace in it
  Outcome out = Run({"-on-start", "tee", "-service", "nginx"});
  EXPECT_EQ(out.code, 1);
  EXPECT_TRUE(out.log.starts_with("TS Determined Domain to be \nTS Incomplete args")) << out.log;
}

TEST_F(PeerFinderTest, UnreadableResolvConfIsFatal) {
  files_.clear();
  Outcome out = Run({"-on-start", "tee", "-service", "nginx", "-ns", "default"});
  EXPECT_EQ(out.code, 1);
  EXPECT_EQ(out.log, "TS Unable to read /etc/resolv.conf\n");
  out = Run({"-on-start", "tee", "-service", "nginx", "-resolv-conf", "/x/resolv.conf"});
  EXPECT_EQ(out.log, "TS Unable to read /x/resolv.conf\n");
}

TEST_F(PeerFinderTest, HostnameFailureIsFatal) {
  hostname_.reset();
  Outcome out = Run({"-on-start", "tee", "-service", "nginx", "-ns", "default"});
  EXPECT_EQ(out.code, 1);
  EXPECT_EQ(out.log, "TS Failed to get hostname: no hostname\n");
}

TEST_F(PeerFinderTest, HostnameFlagOverridesTheSystemHostname) {
  hostname_.reset();
  resolver_.Answer({"vm-0.ub.default.svc.cluster.local", "vm-1.ub.default.svc.cluster.local"});
  Outcome out = Run({"-on-start", "tee", "-service", "ub", "-ns", "default", "-hostname", "vm-0"});
  EXPECT_EQ(out.code, 0);
  EXPECT_EQ(resolver_hostname_, "vm-0");
}

TEST_F(PeerFinderTest, FlagErrorsExit2WithUsageOnly) {
  Outcome out = Run({"-bogus"});
  EXPECT_EQ(out.code, 2);
  EXPECT_TRUE(
      out.raw.starts_with("flag provided but not defined: -bogus\nUsage of /peer-finder:\n"));
  out = Run({"-h"});
  EXPECT_EQ(out.code, 0);
  EXPECT_TRUE(out.raw.starts_with("Usage of /peer-finder:\n  -dns-server"));
  EXPECT_TRUE(scripts_.calls.empty());
}

TEST_F(PeerFinderTest, OwnNameMissingKeepsPollingForever) {
  resolver_.Answer({kWeb1});
  clock_.max_sleeps = 3;
  Outcome out = Run({"-on-start", "tee", "-service", "nginx", "-ns", "default"});
  EXPECT_EQ(out.code, -100);
  std::string waiting =
      "TS Have not found myself in list yet.\n"
      "My Hostname: web-0.nginx.default.svc.cluster.local\n"
      "Hosts in list: web-1.nginx.default.svc.cluster.local\n";
  EXPECT_EQ(out.log,
            "TS Determined Domain to be default.svc.cluster.local\n" + waiting + waiting + waiting);
  EXPECT_TRUE(scripts_.calls.empty());
  EXPECT_EQ(clock_.sleeps, (std::vector<std::chrono::nanoseconds>(3, seconds(1))));
}

TEST_F(PeerFinderTest, DnsErrorsAreLoggedEveryPoll) {
  resolver_.Fail("lookup nginx on 127.0.0.1:53: no such host");
  resolver_.Fail("lookup nginx on 127.0.0.1:53: server misbehaving");
  resolver_.Answer({kWeb0});
  Outcome out = Run({"-on-start", "tee", "-service", "nginx", "-ns", "default"});
  EXPECT_EQ(out.code, 0);
  EXPECT_EQ(out.log,
            "TS Determined Domain to be default.svc.cluster.local\n"
            "TS lookup nginx on 127.0.0.1:53: no such host\n"
            "TS lookup nginx on 127.0.0.1:53: server misbehaving\n"
            "TS Peer list updated\n"
            "was []\n"
            "now [web-0.nginx.default.svc.cluster.local]\n"
            "TS execing: tee with stdin: web-0.nginx.default.svc.cluster.local\n"
            "TS web-0.nginx.default.svc.cluster.local\n"
            "TS Peer finder exiting\n");
}

TEST_F(PeerFinderTest, OnChangeRunsForEveryChangeAndUnchangedListsLogNotFound) {
  resolver_.Answer({kWeb0, kWeb1});
  resolver_.Answer({kWeb0, kWeb1});
  resolver_.Answer({kWeb0, kWeb1, kWeb2});
  resolver_.Fail("lookup nginx on 10.96.0.10:53: no such host");
  resolver_.Answer({kWeb1, kWeb2});         // myself gone: nothing runs
  resolver_.Answer({kWeb0, kWeb1, kWeb2});  // back with the same set: nothing runs either
  clock_.max_sleeps = 6;
  Outcome out = Run(
      {"-on-start", "start.sh", "-on-change", "change.sh", "-service", "nginx", "-ns", "default"});
  EXPECT_EQ(out.code, -100);
  EXPECT_EQ(out.log,
            "TS Determined Domain to be default.svc.cluster.local\n"
            "TS Peer list updated\n"
            "was []\n"
            "now [" +
                kWeb0 + " " + kWeb1 +
                "]\n"
                "TS execing: start.sh with stdin: " +
                kWeb0 + "\n" + kWeb1 +
                "\n"
                "TS " +
                kWeb0 + "\n" + kWeb1 +
                "\n"
                "TS Have not found myself in list yet.\n"
                "My Hostname: " +
                kWeb0 +
                "\n"
                "Hosts in list: " +
                kWeb0 + ", " + kWeb1 +
                "\n"
                "TS Peer list updated\n"
                "was [" +
                kWeb0 + " " + kWeb1 +
                "]\n"
                "now [" +
                kWeb0 + " " + kWeb1 + " " + kWeb2 +
                "]\n"
                "TS execing: change.sh with stdin: " +
                kWeb0 + "\n" + kWeb1 + "\n" + kWeb2 +
                "\n"
                "TS " +
                kWeb0 + "\n" + kWeb1 + "\n" + kWeb2 +
                "\n"
                "TS lookup nginx on 10.96.0.10:53: no such host\n"
                "TS Have not found myself in list yet.\n"
                "My Hostname: " +
                kWeb0 +
                "\n"
                "Hosts in list: " +
                kWeb1 + ", " + kWeb2 +
                "\n"
                "TS Have not found myself in list yet.\n"
                "My Hostname: " +
                kWeb0 +
                "\n"
                "Hosts in list: " +
                kWeb0 + ", " + kWeb1 + ", " + kWeb2 + "\n");
  ASSERT_EQ(scripts_.calls.size(), 2u);
  EXPECT_EQ(scripts_.calls[0].first, "start.sh");
  EXPECT_EQ(scripts_.calls[1].first, "change.sh");
}

TEST_F(PeerFinderTest, OnlyOnChangeRunsOnStartToo) {
  resolver_.Answer({kWeb0});
  clock_.max_sleeps = 2;
  Outcome out = Run({"-on-change", "change.sh", "-service", "nginx", "-ns", "default"});
  EXPECT_EQ(out.code, -100);
  EXPECT_TRUE(
      out.log.starts_with("TS Determined Domain to be default.svc.cluster.local\n"
                          "TS No on-start supplied, on-change change.sh will be applied on start.\n"
                          "TS Peer list updated\n"))
      << out.log;
  ASSERT_EQ(scripts_.calls.size(), 1u);
  EXPECT_EQ(scripts_.calls[0].first, "change.sh");
}

TEST_F(PeerFinderTest, ScriptFailureIsFatalWithTheOriginalMessage) {
  resolver_.Answer({kWeb0, kWeb1});
  scripts_.behaviour = [](const std::string&, const std::string&) {
    return ScriptResult{"bash: line 2: /nonexistent/script.sh: No such file or directory\n",
                        "exit status 127"};
  };
  Outcome out = Run({"-on-start", "/nonexistent/script.sh", "-service", "nginx", "-ns", "default"});
  EXPECT_EQ(out.code, 1);
  EXPECT_TRUE(out.log.ends_with(
      "TS Failed to execute /nonexistent/script.sh: bash: line 2: /nonexistent/script.sh: No such "
      "file or directory\n"
      ", err: exit status 127\n"))
      << out.log;
  EXPECT_EQ(out.log.find("Peer finder exiting"), std::string::npos);
}

TEST_F(PeerFinderTest, EmptyScriptOutputLogsTimestampOnly) {
  resolver_.Answer({kWeb0});
  scripts_.behaviour = [](const std::string&, const std::string&) { return ScriptResult{}; };
  Outcome out = Run({"-on-start", "true", "-service", "nginx", "-ns", "default"});
  EXPECT_EQ(out.code, 0);
  EXPECT_NE(out.log.find("TS execing: true with stdin: " + kWeb0 + "\nTS \nTS Peer finder"),
            std::string::npos)
      << out.log;
}

TEST_F(PeerFinderTest, TimeoutEndsTheWaitWithExitStatus1) {
  resolver_.Answer({kWeb1});
  Outcome out =
      Run({"-on-start", "tee", "-service", "nginx", "-ns", "default", "-timeout", "2500ms"});
  EXPECT_EQ(out.code, 1);
  EXPECT_TRUE(
      out.log.ends_with("TS Timed out after 2.5s waiting to find myself in the list.\n"
                        "My Hostname: " +
                        kWeb0 +
                        "\n"
                        "Hosts in list: " +
                        kWeb1 + "\n"))
      << out.log;
  // Polls at 0, 1 and 2 s; the last sleep is cut to the deadline.
  EXPECT_EQ(clock_.sleeps,
            (std::vector<std::chrono::nanoseconds>{seconds(1), seconds(1), milliseconds(500)}));
  EXPECT_EQ(resolver_.services.size(), 3u);
  EXPECT_TRUE(scripts_.calls.empty());
}

TEST_F(PeerFinderTest, TimeoutDoesNotApplyAfterStart) {
  resolver_.Answer({kWeb0});
  clock_.max_sleeps = 10;
  Outcome out = Run({"-on-change", "c", "-service", "nginx", "-ns", "default", "-timeout", "2s"});
  EXPECT_EQ(out.code, -100);
  EXPECT_EQ(out.log.find("Timed out"), std::string::npos);
}

TEST_F(PeerFinderTest, MinPeersWaitsForEnoughPeers) {
  resolver_.Answer({kWeb0});
  resolver_.Answer({kWeb0, kWeb1});
  resolver_.Answer({kWeb0, kWeb1, kWeb2});
  Outcome out = Run({"-on-start", "tee", "-service", "nginx", "-ns", "default", "-min-peers", "3"});
  EXPECT_EQ(out.code, 0);
  EXPECT_NE(out.log.find("TS Found myself, waiting for at least 3 peers.\n"
                         "My Hostname: " +
                         kWeb0 +
                         "\n"
                         "Hosts in list: " +
                         kWeb0 + ", " + kWeb1 + "\n"),
            std::string::npos)
      << out.log;
  ASSERT_EQ(scripts_.calls.size(), 1u);
  EXPECT_EQ(scripts_.calls[0].second, kWeb0 + "\n" + kWeb1 + "\n" + kWeb2);
}

TEST_F(PeerFinderTest, MinPeersTimeoutSaysWhatIsMissing) {
  resolver_.Answer({kWeb0});
  Outcome out = Run({"-on-start", "tee", "-service", "nginx", "-ns", "default", "-min-peers", "2",
                     "-timeout", "1s"});
  EXPECT_EQ(out.code, 1);
  EXPECT_TRUE(
      out.log.ends_with("TS Timed out after 1s waiting for at least 2 peers.\n"
                        "My Hostname: " +
                        kWeb0 +
                        "\n"
                        "Hosts in list: " +
                        kWeb0 + "\n"))
      << out.log;
}

TEST_F(PeerFinderTest, PollIntervalIsConfigurable) {
  resolver_.Answer({kWeb1});
  resolver_.Answer({kWeb0});
  Outcome out =
      Run({"-on-start", "tee", "-service", "nginx", "-ns", "default", "-poll-interval", "250ms"});
  EXPECT_EQ(out.code, 0);
  EXPECT_EQ(clock_.sleeps,
            (std::vector<std::chrono::nanoseconds>{milliseconds(250), milliseconds(250)}));
}

TEST_F(PeerFinderTest, HostsFileIsWrittenBeforeTheScript) {
  std::string hosts = TempPath("hosts");
  { std::ofstream(hosts) << "127.0.0.1 localhost\n"; }
  resolver_.Answer({kWeb1, kWeb0});
  resolver_.addresses[kWeb0] = {"10.0.0.5"};
  resolver_.addresses[kWeb1] = {"10.0.0.6", "fd00::6"};
  std::string seen_by_script;
  scripts_.behaviour = [&](const std::string&, const std::string&) {
    seen_by_script = ReadFile(hosts);
    return ScriptResult{};
  };
  Outcome out =
      Run({"-on-start", "x", "-service", "nginx", "-ns", "default", "-hosts-file", hosts});
  EXPECT_EQ(out.code, 0) << out.log;
  std::string want = "127.0.0.1 localhost\n" + std::string(kHostsBeginMarker) + "\n" +
                     "10.0.0.5\t" + kWeb0 + " web-0.nginx web-0\n" + "10.0.0.6\t" + kWeb1 +
                     " web-1.nginx web-1\n" + "fd00::6\t" + kWeb1 + " web-1.nginx web-1\n" +
                     std::string(kHostsEndMarker) + "\n";
  EXPECT_EQ(ReadFile(hosts), want);
  EXPECT_EQ(seen_by_script, want);
  EXPECT_NE(out.log.find("TS Updated hosts file " + hosts + ": 3 addresses for 2 peers\n"),
            std::string::npos)
      << out.log;
}

TEST_F(PeerFinderTest, HostsFileAloneRunsOnceWithoutScripts) {
  std::string hosts = TempPath("hosts_only");
  resolver_.Answer({kWeb0});
  resolver_.addresses[kWeb0] = {"10.0.0.5"};
  Outcome out = Run({"-service", "nginx", "-ns", "default", "-hosts-file", hosts});
  EXPECT_EQ(out.code, 0);
  EXPECT_EQ(out.log,
            "TS Determined Domain to be default.svc.cluster.local\n"
            "TS Peer list updated\n"
            "was []\n"
            "now [" +
                kWeb0 +
                "]\n"
                "TS Updated hosts file " +
                hosts +
                ": 1 addresses for 1 peers\n"
                "TS Peer finder exiting\n");
  EXPECT_TRUE(scripts_.calls.empty());
}

TEST_F(PeerFinderTest, HostsFileFollowsAddressChangesInOnChangeMode) {
  std::string hosts = TempPath("hosts_refresh");
  resolver_.Answer({kWeb0, kWeb1});
  resolver_.addresses[kWeb0] = {"10.0.0.5"};
  resolver_.addresses[kWeb1] = {"10.0.0.6"};
  std::string after_first_poll;
  resolver_.before_srv = [&](size_t call) {
    if (call == 2) after_first_poll = ReadFile(hosts);
    // web-1 was rescheduled with a new address; the peer set stays the same.
    if (call == 3) resolver_.addresses[kWeb1] = {"10.0.0.16"};
  };
  clock_.max_sleeps = 4;
  Outcome out =
      Run({"-on-change", "c", "-service", "nginx", "-ns", "default", "-hosts-file", hosts});
  EXPECT_EQ(out.code, -100);
  EXPECT_NE(after_first_poll.find("10.0.0.6\t" + kWeb1), std::string::npos) << after_first_poll;
  EXPECT_NE(ReadFile(hosts).find("10.0.0.16\t" + kWeb1), std::string::npos) << ReadFile(hosts);
  EXPECT_EQ(ReadFile(hosts).find("10.0.0.6\t"), std::string::npos);
  // Written once for the new list and once for the new address; unchanged polls write nothing.
  size_t updates = 0;
  for (size_t at = 0; (at = out.log.find("TS Updated hosts file", at)) != std::string::npos; ++at) {
    ++updates;
  }
  EXPECT_EQ(updates, 2u) << out.log;
  EXPECT_EQ(scripts_.calls.size(), 1u);  // an address change alone runs no script
}

TEST_F(PeerFinderTest, MissingAddressIsLoggedAndLeftOut) {
  std::string hosts = TempPath("hosts_missing");
  resolver_.Answer({kWeb0, kWeb1});
  resolver_.addresses[kWeb0] = {"10.0.0.5"};
  Outcome out =
      Run({"-on-start", "tee", "-service", "nginx", "-ns", "default", "-hosts-file", hosts});
  EXPECT_EQ(out.code, 0);
  EXPECT_NE(out.log.find("TS No address for " + kWeb1 + ": lookup " + kWeb1 +
                         ". on 10.96.0.10:53: no such host\n"),
            std::string::npos)
      << out.log;
  EXPECT_EQ(ReadFile(hosts).find(kWeb1), std::string::npos);
}

TEST_F(PeerFinderTest, UnwritableHostsFileIsFatal) {
  resolver_.Answer({kWeb0});
  Outcome out = Run({"-on-start", "tee", "-service", "nginx", "-ns", "default", "-hosts-file",
                     "/nonexistent/dir/hosts"});
  EXPECT_EQ(out.code, 1);
  EXPECT_NE(out.log.find("TS Failed to write hosts file /nonexistent/dir/hosts: "),
            std::string::npos)
      << out.log;
  EXPECT_TRUE(scripts_.calls.empty());
}

}  // namespace
}  // namespace petdns::client
