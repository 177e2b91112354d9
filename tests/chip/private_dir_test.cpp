// PrivateDir: mode 0700 under ${TMPDIR:-/tmp}, removed with its contents by its creator only.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "chip/private_dir.h"
#include "echelon/chip_callable.h"

namespace echelon::chip {
namespace {

namespace fs = std::filesystem;

TEST(PrivateDir, CreatedOwnerOnlyAndRemovedRecursively) {
  std::string path;
  {
    const PrivateDir dir;
    path = dir.path();
    EXPECT_EQ(fs::path(path).filename().string().rfind("echelon-chip-", 0), 0u) << path;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    fs::create_directory(path + "/nested");
    std::ofstream(path + "/nested/file") << "bytes";
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(PrivateDir, HonoursTmpdir) {
  const PrivateDir outer;
  const char* saved = std::getenv("TMPDIR");
  const std::string restore = saved ? saved : "";
  ::setenv("TMPDIR", outer.path().c_str(), 1);
  std::string inner_path;
  {
    const PrivateDir inner("echelon-s0123456789abcdef-");
    inner_path = inner.path();
  }
  if (saved) ::setenv("TMPDIR", restore.c_str(), 1); else ::unsetenv("TMPDIR");
  EXPECT_EQ(fs::path(inner_path).parent_path(), fs::path(outer.path()));
  EXPECT_EQ(fs::path(inner_path).filename().string().rfind("echelon-s0123456789abcdef-", 0), 0u);
}

TEST(PrivateDir, PrefixWithSlashRejected) {
  EXPECT_THROW(PrivateDir("../escape-"), ChipError);
  EXPECT_THROW(PrivateDir(""), ChipError);
}

TEST(PrivateDir, ForkedChildDoesNotRemoveParentsDirectory) {
  PrivateDir dir;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    { const PrivateDir inherited(std::move(dir)); }  // destroyed in the child
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(fs::exists(dir.path()));
}

}  // namespace
}  // namespace echelon::chip
