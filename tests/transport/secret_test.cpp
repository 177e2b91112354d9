// Shared-secret files (protocol.md 15.3): exact bytes, bounded size, strict ownership and mode.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "transport/auth.h"
#include "transport_test_support.h"

namespace echelon::transport::test {
namespace {

namespace fs = std::filesystem;

const std::string SECRET_TEXT = "correct horse battery staple 0123456789 \n";

class SecretFileTest : public TransportTest {
 protected:
  void SetUp() override {
    TransportTest::SetUp();
    dir_ = fs::temp_directory_path() / ("echelon-secret-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    TransportTest::TearDown();
  }
  fs::path write(const std::string& name, const std::string& content, mode_t mode) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }
  std::string refusal(const fs::path& p) {
    try {
      load_secret_file(p);
    } catch (const AuthError& e) {
      return e.what();
    }
    return "accepted";
  }
  fs::path dir_;
};

TEST_F(SecretFileTest, LoadsTheExactBytes) {
  const Secret s = load_secret_file(write("ok", SECRET_TEXT, 0600));
  EXPECT_EQ(std::string(s.bytes().begin(), s.bytes().end()), SECRET_TEXT);  // trailing newline kept
  EXPECT_NO_THROW(load_secret_file(write("ro", SECRET_TEXT, 0400)));
}

TEST_F(SecretFileTest, GroupOrWorldAccessIsRefusedWithoutShowingTheContent) {
  for (const mode_t mode : {0640, 0604, 0660, 0644, 0610}) {
    const std::string msg = refusal(write("loose", SECRET_TEXT, mode));
    EXPECT_NE(msg.find("chmod 600"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("horse"), std::string::npos) << msg;
  }
}

TEST_F(SecretFileTest, SizeBoundsAreEnforced) {
  EXPECT_NE(refusal(write("empty", "", 0600)).find("0 bytes"), std::string::npos);
  EXPECT_NE(refusal(write("short", std::string(31, 'x'), 0600)).find("32 to 4096"), std::string::npos);
  EXPECT_NO_THROW(load_secret_file(write("min", std::string(32, 'x'), 0600)));
  EXPECT_NO_THROW(load_secret_file(write("max", std::string(4096, 'x'), 0600)));
  EXPECT_NE(refusal(write("long", std::string(4097, 'x'), 0600)).find("4097 bytes"), std::string::npos);
}

TEST_F(SecretFileTest, NonRegularAndMissingFilesAreRefused) {
  EXPECT_NE(refusal(dir_).find("not a regular file"), std::string::npos);
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(refusal(fifo).find("not a regular file"), std::string::npos);  // and did not hang
  EXPECT_NE(refusal(dir_ / "missing").find("cannot open"), std::string::npos);
}

TEST_F(SecretFileTest, FileOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown a file to another user";
  const fs::path p = write("theirs", SECRET_TEXT, 0600);
  ASSERT_EQ(::chown(p.c_str(), 65534, 65534), 0);
  EXPECT_NE(refusal(p).find("not by the effective user"), std::string::npos);
}

TEST(Secret, FormatsAsRedacted) {
  const Secret s(Bytes(SECRET_TEXT.begin(), SECRET_TEXT.end()));
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "<redacted>");
  EXPECT_EQ(fmt::format("key={}", s), "key=<redacted>");
  const Secret copy = s.clone();
  EXPECT_TRUE(std::equal(copy.bytes().begin(), copy.bytes().end(), s.bytes().begin(), s.bytes().end()));
}

}  // namespace
}  // namespace echelon::transport::test
