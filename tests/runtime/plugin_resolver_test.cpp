// NATIVE_IMPORT plugin resolution (callables.md 2.6, CALL-8) with real plugins built by CMake.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/plugin_resolver.h"
#include "test_support.h"

using namespace echelon;
using namespace echelon::testing;
namespace fs = std::filesystem;

namespace {

const std::string kBuilt = ECHELON_TEST_PLUGIN_DIR;

// A scratch tree of plugin directories, removed at the end.
struct PluginTree {
  fs::path root;
  PluginTree() {
    char tmpl[] = "/tmp/echelon-plugins-XXXXXX";
    root = mkdtemp(tmpl);
  }
  ~PluginTree() { fs::remove_all(root); }
  std::string dir(const std::string& name) {
    fs::create_directories(root / name);
    return (root / name).string();
  }
  void copy(const std::string& built, const std::string& dir, const std::string& as) {
    fs::copy_file(kBuilt + "/" + built, fs::path(dir) / as, fs::copy_options::overwrite_existing);
  }
};

PluginError::Status status_of(const std::function<void()>& fn, std::string* message) {
  try {
    fn();
  } catch (const PluginError& e) {
    *message = e.what();
    return e.status();
  }
  ADD_FAILURE() << "expected a PluginError";
  return PluginError::Status::NOT_FOUND;
}

}  // namespace

TEST(PluginResolver, FirstDirectoryWins) {
  PluginTree t;
  const std::string a = t.dir("a"), b = t.dir("b");
  t.copy("libechelon_test_plugin_alt.so", a, "libpick.so");
  t.copy("libechelon_test_plugin_good.so", b, "libpick.so");
  const ResolvedPlugin p = resolve_plugin(NativeImportTarget::parse("pick:test_sub"), {a, b});
  EXPECT_EQ(p.path, fs::canonical(fs::path(a) / "libpick.so").string());
  EXPECT_EQ(p.entry_kind, EntryKind::SUB);
  HostBuffer out(64);
  const LocalEntry e = make_plugin_entry(Digest{}, "pick:test_sub", p);
  const TaskArgs args = TaskArgs().output_existing(out.view(0, {1}, DataType::INT64));
  e.sub(SubCall(args));
  EXPECT_EQ(out.data_as<int64_t>()[0], 43) << "the alternative build in the first directory ran";
  // Later directories are still searched when earlier ones lack the name.
  EXPECT_NO_THROW(resolve_plugin(NativeImportTarget::parse("pick:test_sub"), {t.dir("empty"), b}));
}

TEST(PluginResolver, SymlinkEscapeRefused) {
  PluginTree t;
  const std::string outside = t.dir("outside"), d = t.dir("plugins");
  t.copy("libechelon_test_plugin_good.so", outside, "libgood.so");
  fs::create_symlink(fs::path(outside) / "libgood.so", fs::path(d) / "libesc.so");
  std::string msg;
  EXPECT_EQ(status_of([&] { resolve_plugin(NativeImportTarget::parse("esc:test_sub"), {d}); }, &msg),
            PluginError::Status::REJECTED);
  EXPECT_NE(msg.find("outside"), std::string::npos) << msg;
  // A later directory is not tried after the first one refused.
  const std::string ok = t.dir("ok");
  t.copy("libechelon_test_plugin_good.so", ok, "libesc.so");
  EXPECT_THROW(resolve_plugin(NativeImportTarget::parse("esc:test_sub"), {d, ok}), PluginError);
  // A symlink that stays inside its directory is fine.
  t.copy("libechelon_test_plugin_good.so", d, "libreal.so");
  fs::create_symlink(fs::path(d) / "libreal.so", fs::path(d) / "libinside.so");
  EXPECT_NO_THROW(resolve_plugin(NativeImportTarget::parse("inside:test_sub"), {d}));
}

TEST(PluginResolver, AbiVersionMismatchRefused) {
  PluginTree t;
  const std::string d = t.dir("p");
  t.copy("libechelon_test_plugin_badabi.so", d, "libbad.so");
  std::string msg;
  EXPECT_EQ(status_of([&] { resolve_plugin(NativeImportTarget::parse("bad:test_sub"), {d}); }, &msg),
            PluginError::Status::REJECTED);
  EXPECT_NE(msg.find("ABI version 99"), std::string::npos) << msg;
}

TEST(PluginResolver, MissingSymbolNotFound) {
  PluginTree t;
  const std::string d = t.dir("p");
  t.copy("libechelon_test_plugin_good.so", d, "libgood.so");
  std::string msg;
  EXPECT_EQ(status_of([&] { resolve_plugin(NativeImportTarget::parse("good:no_such_entry"), {d}); }, &msg),
            PluginError::Status::NOT_FOUND);
  EXPECT_NE(msg.find("no_such_entry"), std::string::npos) << msg;
  EXPECT_NE(msg.find(d), std::string::npos) << "the message names the searched directories: " << msg;
  EXPECT_EQ(status_of([&] { resolve_plugin(NativeImportTarget::parse("absent:f"), {d}); }, &msg),
            PluginError::Status::NOT_FOUND);
  EXPECT_EQ(status_of([&] { resolve_plugin(NativeImportTarget::parse("good:test_sub"), {}); }, &msg),
            PluginError::Status::NOT_FOUND)
      << "no directory configured: nothing resolves";
}

TEST(PluginResolver, WrongEntryTypeRefused) {
  PluginTree t;
  const std::string d = t.dir("p");
  t.copy("libechelon_test_plugin_good.so", d, "libgood.so");
  t.copy("libechelon_test_plugin_nokind.so", d, "libnokind.so");
  std::string msg;
  EXPECT_EQ(status_of([&] { resolve_plugin(NativeImportTarget::parse("good:test_sub"), {d}, EntryKind::ORCHESTRATION); }, &msg),
            PluginError::Status::REJECTED);
  EXPECT_NE(msg.find("is a sub entry"), std::string::npos) << msg;
  EXPECT_EQ(status_of([&] { resolve_plugin(NativeImportTarget::parse("nokind:test_sub"), {d}); }, &msg),
            PluginError::Status::REJECTED);
  EXPECT_NE(msg.find("companion"), std::string::npos) << msg;
}

TEST(PluginResolver, OrchEntryRunsAndReportsErrors) {
  PluginTree t;
  const std::string d = t.dir("p");
  t.copy("libechelon_test_plugin_good.so", d, "libgood.so");
  const ResolvedPlugin p = resolve_plugin(NativeImportTarget::parse("good:test_orch"), {d}, EntryKind::ORCHESTRATION);
  const LocalEntry e = make_plugin_entry(Digest{}, "good:test_orch", p);
  Worker w(3, quick_options());
  w.add_sub(ChildIsolation::THREAD);
  w.init();
  EXPECT_NO_THROW(w.run(e.orch, TaskArgs().scalar(int64_t{1}), CallConfig{}));
  const std::string err = what_of([&] { w.run(e.orch, TaskArgs().scalar(int64_t{-1}), CallConfig{}); });
  EXPECT_NE(err.find("orch entry refused a negative scalar"), std::string::npos) << err;
}
