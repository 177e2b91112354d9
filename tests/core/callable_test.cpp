#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "echelon/callable.h"
#include "echelon/errors.h"

using namespace echelon;

TEST(CallableIdentity, HashidMatchesKnownVector) {
  // SHA-256("abc"), FIPS 180-2 test vector.
  const uint8_t abc[] = {'a', 'b', 'c'};
  EXPECT_EQ(to_hashid(sha256(abc)), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Descriptor, GoldenBytesPerKind) {
  const std::vector<uint8_t> inproc = native_inproc_descriptor("ab");
  const std::vector<uint8_t> expect_inproc = {1, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 'a', 'b'};
  EXPECT_EQ(inproc, expect_inproc);
  const std::vector<uint8_t> native = native_import_descriptor(NativeImportTarget::parse(" k:f\n"));
  const std::vector<uint8_t> expect_native = {1, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 'k', 1, 0, 0, 0, 'f'};
  EXPECT_EQ(native, expect_native);
  Digest zero{};
  const auto chip = chip_callable_descriptor("x86_64", "sim", "simchip", zero, zero);
  ASSERT_EQ(chip.size(), 8u + (4 + 6) + (4 + 3) + (4 + 7) + 2 * (4 + 32));
  EXPECT_EQ(chip[4], 1);
  EXPECT_EQ(chip[8 + 4 + 6 + 4 + 3 + 4 + 7], 32) << "digests use the byte-array rule (u32 length 32)";
}

TEST(ChipDescriptor, ChangesWithBlobByteSignatureAndContext) {
  std::vector<uint8_t> blob(100, 7);
  const ArgDirection sig1[] = {ArgDirection::IN, ArgDirection::OUT};
  const ArgDirection sig2[] = {ArgDirection::IN, ArgDirection::INOUT};
  auto digest = [](const std::vector<uint8_t>& b, std::span<const ArgDirection> s, const char* arch) {
    return sha256(chip_callable_descriptor(arch, "sim", "simchip", sha256(b), chip_signature_hash(s)));
  };
  const Digest base = digest(blob, sig1, "x86_64");
  EXPECT_EQ(base, digest(blob, sig1, "x86_64"));
  auto blob2 = blob;
  blob2[50] ^= 1;
  EXPECT_NE(base, digest(blob2, sig1, "x86_64"));
  EXPECT_NE(base, digest(blob, sig2, "x86_64"));
  EXPECT_NE(base, digest(blob, sig1, "aarch64"));
}

TEST(CallableIdentity, RejectsNonCanonicalHashids) {
  const std::string hex(64, 'a');
  EXPECT_NO_THROW(parse_hashid("sha256:" + hex));
  const std::vector<std::string> bad = {
      "", "md5:" + hex, "sha256:" + std::string(63, 'a'), "sha256:" + std::string(65, 'a'),
      "sha256:" + std::string(64, 'A'), "sha256:" + std::string(63, 'a') + "g", hex};
  for (const auto& s : bad) {
    try {
      parse_hashid(s);
      ADD_FAILURE() << "accepted '" << s << "'";
    } catch (const CallableError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("HASHID_FORMAT_INVALID", 0), 0u) << e.what();
    }
  }
  EXPECT_NO_THROW(parse_hashid(hex, /*allow_bare=*/true));
  const Digest d = parse_hashid("sha256:" + hex);
  EXPECT_EQ(to_hashid(d), "sha256:" + hex);
}

TEST(CallableIdentity, StableAcrossProcesses) {
  const Digest here = sha256(native_inproc_descriptor("stable.name"));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const Digest there = sha256(native_inproc_descriptor("stable.name"));
    (void)!write(fds[1], there.data(), there.size());
    _exit(0);
  }
  close(fds[1]);
  Digest child{};
  ASSERT_EQ(read(fds[0], child.data(), child.size()), static_cast<ssize_t>(child.size()));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(here, child);
}

TEST(NativeImportTarget, AcceptsValidForms) {
  auto t = NativeImportTarget::parse("  my_plugin-1.2+x:entry_fn \t");
  EXPECT_EQ(t.library, "my_plugin-1.2+x");
  EXPECT_EQ(t.symbol, "entry_fn");
  EXPECT_NO_THROW(NativeImportTarget::parse("9lib:_f"));
}

TEST(NativeImportTarget, RejectsInvalidForms) {
  for (const char* s : {"libfoo", ":entry", "foo:", "../foo:entry", "dir/foo:entry", "foo:entry:x", "foo:1entry",
                        "foo:ns::entry", "/abs/x:f", "x:bad-name", "-x:f"}) {
    EXPECT_THROW(NativeImportTarget::parse(s), ValidationError) << s;
  }
}

TEST(NativeImportTarget, LengthLimits) {
  EXPECT_NO_THROW(NativeImportTarget::parse(std::string(128, 'l') + ":" + std::string(256, 's')));
  EXPECT_THROW(NativeImportTarget::parse(std::string(129, 'l') + ":f"), ValidationError);
  EXPECT_THROW(NativeImportTarget::parse("l:" + std::string(257, 's')), ValidationError);
  EXPECT_THROW(NativeImportTarget::parse(std::string(1025, ' ') + "l:f"), ValidationError);
}

TEST(PythonImportTarget, RejectsInvalidFormsAndStripsWhitespace) {
  for (const char* s : {"pkg.mod.fn", ":fn", "pkg:", ".pkg:fn", "pkg.mod:<locals>.fn", "pkg.mod:bad-name", "a:b:c"})
    EXPECT_THROW(PythonImportTarget::parse(s), ValidationError) << s;
  EXPECT_EQ(sha256(python_import_descriptor(PythonImportTarget::parse(" pkg.mod:Cls.fn "))),
            sha256(python_import_descriptor(PythonImportTarget::parse("pkg.mod:Cls.fn"))));
}

TEST(NativeInproc, NameRules) {
  EXPECT_NO_THROW(validate_inproc_name("a.b_c9"));
  EXPECT_THROW(validate_inproc_name(""), ValidationError);
  EXPECT_THROW(validate_inproc_name("9a"), ValidationError);
  EXPECT_THROW(validate_inproc_name("a-b"), ValidationError);
  EXPECT_THROW(validate_inproc_name(std::string(257, 'a')), ValidationError);
}
