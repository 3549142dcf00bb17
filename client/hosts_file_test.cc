#include "client/hosts_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace petdns::client {
namespace {

const std::string kBegin(kHostsBeginMarker);
const std::string kEnd(kHostsEndMarker);

std::vector<HostsEntry> TwoPeers() {
  return {{"10.0.0.5", HostNamesFor("web-0.nginx.default.svc.cluster.local")},
          {"10.0.0.6", HostNamesFor("web-1.nginx.default.svc.cluster.local")}};
}

const std::string kTwoPeersBlock = kBegin +
                                   "\n"
                                   "10.0.0.5\tweb-0.nginx.default.svc.cluster.local web-0.nginx "
                                   "web-0\n"
                                   "10.0.0.6\tweb-1.nginx.default.svc.cluster.local web-1.nginx "
                                   "web-1\n" +
                                   kEnd + "\n";

TEST(HostsFile, NamesAreFqdnPetServiceAndPet) {
  EXPECT_EQ(
      HostNamesFor("web-0.nginx.default.svc.cluster.local"),
      (std::vector<std::string>{"web-0.nginx.default.svc.cluster.local", "web-0.nginx", "web-0"}));
  EXPECT_EQ(HostNamesFor("role1-0.svc."), (std::vector<std::string>{"role1-0.svc", "role1-0"}));
  EXPECT_EQ(HostNamesFor("single"), (std::vector<std::string>{"single"}));
  EXPECT_TRUE(HostNamesFor("").empty());
}

TEST(HostsFile, AppendsBlockAfterExistingLines) {
  std::string existing = "127.0.0.1 localhost\n::1 localhost ip6-localhost";
  EXPECT_EQ(RenderHostsFile(existing, TwoPeers()), existing + "\n" + kTwoPeersBlock);
  EXPECT_EQ(RenderHostsFile("", TwoPeers()), kTwoPeersBlock);
}

TEST(HostsFile, ReplacesBlockInPlaceKeepingOtherLines) {
  std::string before = "127.0.0.1 localhost\n";
  std::string after = "# added later by someone\n172.17.0.9 other\n";
  std::string old = before + kBegin + "\n10.9.9.9\told.example old\n" + kEnd + "\n" + after;
  EXPECT_EQ(RenderHostsFile(old, TwoPeers()), before + kTwoPeersBlock + after);
}

TEST(HostsFile, EmptyPeerListLeavesEmptyBlock) {
  EXPECT_EQ(RenderHostsFile("a\n", {}), "a\n" + kBegin + "\n" + kEnd + "\n");
}

TEST(HostsFile, BeginWithoutEndTakesTheRest) {
  std::string old = "a\n" + kBegin + "\n10.9.9.9\told\n";
  EXPECT_EQ(RenderHostsFile(old, TwoPeers()), "a\n" + kTwoPeersBlock);
}

TEST(HostsFile, RecognisesMarkersWithCrlf) {
  std::string old = "a\r\n" + kBegin + "\r\n10.9.9.9\told\r\n" + kEnd + "\r\nb\r\n";
  EXPECT_EQ(RenderHostsFile(old, TwoPeers()), "a\r\n" + kTwoPeersBlock + "b\r\n");
}

TEST(HostsFile, RenderIsIdempotent) {
  std::string once = RenderHostsFile("127.0.0.1 localhost\n", TwoPeers());
  EXPECT_EQ(RenderHostsFile(once, TwoPeers()), once);
}

class HostsFileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "hosts_file_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/hosts";
  }
  void TearDown() override {
    for (const std::string& name : Files()) unlink((dir_ + "/" + name).c_str());
    rmdir(dir_.c_str());
  }
  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    DIR* d = opendir(dir_.c_str());
    if (d == nullptr) return names;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    return names;
  }
  std::string Read() const {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void WriteRaw(const std::string& text) const { std::ofstream(path_) << text; }
  ino_t Inode() const {
    struct stat st {};
    stat(path_.c_str(), &st);
    return st.st_ino;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(HostsFileWriterTest, CreatesMissingFile) {
  HostsFileWriter writer(path_);
  Result<HostsWrite> r = writer.Write(TwoPeers());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, HostsWrite::kReplaced);
  EXPECT_EQ(Read(), kTwoPeersBlock);
  EXPECT_EQ(Files(), std::vector<std::string>{"hosts"});  // no temporary file left behind
}

TEST_F(HostsFileWriterTest, SkipsUnchangedContent) {
  HostsFileWriter writer(path_);
  ASSERT_TRUE(writer.Write(TwoPeers()));
  ino_t inode = Inode();
  Result<HostsWrite> r = writer.Write(TwoPeers());
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, HostsWrite::kUnchanged);
  EXPECT_EQ(Inode(), inode);
}

TEST_F(HostsFileWriterTest, ReplacesAtomicallyAndKeepsOtherLinesAndMode) {
  WriteRaw("127.0.0.1 localhost\n");
  ASSERT_EQ(chmod(path_.c_str(), 0640), 0);
  // A reader that opened the old file keeps seeing the old content: the new one is a new inode.
  int old_fd = open(path_.c_str(), O_RDONLY);
  ASSERT_GE(old_fd, 0);
  ino_t old_inode = Inode();
  HostsFileWriter writer(path_);
  ASSERT_TRUE(writer.Write(TwoPeers()));
  EXPECT_NE(Inode(), old_inode);
  EXPECT_EQ(Read(), "127.0.0.1 localhost\n" + kTwoPeersBlock);
  char buf[64] = {};
  EXPECT_EQ(pread(old_fd, buf, sizeof(buf) - 1, 0), 20);
  EXPECT_STREQ(buf, "127.0.0.1 localhost\n");
  close(old_fd);
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(Files(), std::vector<std::string>{"hosts"});

  // A later change rewrites only the block.
  ASSERT_TRUE(writer.Write({{"10.0.0.7", HostNamesFor("web-2.nginx.default.svc.cluster.local")}}));
  EXPECT_EQ(Read(), "127.0.0.1 localhost\n" + kBegin +
                        "\n10.0.0.7\tweb-2.nginx.default.svc.cluster.local web-2.nginx web-2\n" +
                        kEnd + "\n");
}

TEST_F(HostsFileWriterTest, RewritesInPlaceWhenTheFileIsAMountPoint) {
  WriteRaw("127.0.0.1 localhost\n");
  ino_t inode = Inode();
  HostsFileWriter writer(path_, [](const char*, const char*) {
    errno = EBUSY;  // what rename(2) says for a bind-mounted /etc/hosts
    return -1;
  });
  Result<HostsWrite> r = writer.Write(TwoPeers());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, HostsWrite::kRewrittenInPlace);
  EXPECT_EQ(Inode(), inode);
  EXPECT_EQ(Read(), "127.0.0.1 localhost\n" + kTwoPeersBlock);
  EXPECT_EQ(Files(), std::vector<std::string>{"hosts"});
  // Shrinking content truncates the file.
  ASSERT_TRUE(writer.Write({}));
  EXPECT_EQ(Read(), "127.0.0.1 localhost\n" + kBegin + "\n" + kEnd + "\n");
}

TEST_F(HostsFileWriterTest, OtherRenameErrorsAreReported) {
  WriteRaw("x\n");
  HostsFileWriter writer(path_, [](const char*, const char*) {
    errno = EACCES;
    return -1;
  });
  Result<HostsWrite> r = writer.Write(TwoPeers());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("rename"), std::string::npos) << r.error().message;
  EXPECT_EQ(Read(), "x\n");
  EXPECT_EQ(Files(), std::vector<std::string>{"hosts"});
}

TEST_F(HostsFileWriterTest, MissingFolderIsAnError) {
  HostsFileWriter writer(dir_ + "/no/such/hosts");
  EXPECT_FALSE(writer.Write(TwoPeers()));
}

}  // namespace
}  // namespace petdns::client
