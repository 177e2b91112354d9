#include "remote/handoff_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "transport/fd.h"

namespace echelon::remote {
namespace {

using namespace std::chrono_literals;

struct TestPipe {
  transport::Fd r, w;
  TestPipe() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    r.reset(fds[0]);
    w.reset(fds[1]);
  }
  void put(const std::vector<uint8_t>& bytes) {
    EXPECT_EQ(::write(w.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
};

std::vector<uint8_t> le32(uint32_t v) {
  return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
}

std::string handoff_error(const std::vector<uint8_t>& bytes, bool close_writer = true) {
  TestPipe p;
  p.put(bytes);
  if (close_writer) p.w.reset();
  try {
    read_handoff(p.r.get(), transport::Clock::now() + 200ms);
  } catch (const HandoffError& e) {
    return e.what();
  }
  return "<accepted>";
}

TEST(HandoffIo, ValidLayoutReadsBack) {
  const std::vector<uint8_t> key(32, 7);
  TestPipe p;
  p.put(encode_handoff("{}", key));
  p.w.reset();
  const RunnerHandoff h = read_handoff(p.r.get(), transport::Clock::now() + 1s);
  EXPECT_EQ(h.manifest_json, "{}");
  EXPECT_EQ(h.session_key, key);
}

TEST(HandoffIo, RejectsAnythingButTheExactLayout) {
  std::vector<uint8_t> ok = encode_handoff("{}", {});
  EXPECT_NE(handoff_error(le32(0)).find("manifest_len 0 is outside"), std::string::npos);
  // A huge length is refused from the prefix alone, before any allocation.
  EXPECT_NE(handoff_error(le32(0xFFFFFFFFu)).find("outside 1..16777216"), std::string::npos);
  EXPECT_NE(handoff_error({1, 0}).find("pipe closed after 2 of 4 bytes"), std::string::npos);
  std::vector<uint8_t> truncated = le32(10);
  truncated.push_back('{');
  EXPECT_NE(handoff_error(truncated).find("handoff manifest: pipe closed after 1 of 10"), std::string::npos);
  std::vector<uint8_t> bad_key = le32(2);
  bad_key.insert(bad_key.end(), {'{', '}'});
  auto k = le32(5);
  bad_key.insert(bad_key.end(), k.begin(), k.end());
  EXPECT_NE(handoff_error(bad_key).find("key_len 5 must be 0 or 32"), std::string::npos);
  std::vector<uint8_t> trailing = ok;
  trailing.push_back(0);
  EXPECT_NE(handoff_error(trailing).find("trailing bytes"), std::string::npos);
  // A writer that never closes: the deadline ends the wait.
  EXPECT_NE(handoff_error(ok, /*close_writer=*/false).find("deadline passed"), std::string::npos);
}

TEST(HandoffIo, StatusMessageFraming) {
  TestPipe p;
  const RunnerStatus s{LaneAddresses{TransportProfile::HOST_TCP, 10, 11, {}, {}}};
  write_status(p.w.get(), s, transport::Clock::now() + 1s);
  p.w.reset();
  EXPECT_EQ(read_status(p.r.get(), transport::Clock::now() + 1s), s);

  TestPipe empty;
  empty.w.reset();
  EXPECT_FALSE(read_status(empty.r.get(), transport::Clock::now() + 1s).has_value());

  TestPipe big;
  big.put(le32(65537));
  EXPECT_THROW(read_status(big.r.get(), transport::Clock::now() + 1s), HandoffError);

  TestPipe silent;
  try {
    read_status(silent.r.get(), transport::Clock::now() + 100ms);
    FAIL();
  } catch (const HandoffError& e) {
    EXPECT_TRUE(e.timed_out());
  }
}

TEST(HandoffIo, WriteToClosedReaderIsAnErrorNotSigpipe) {
  TestPipe p;
  p.r.reset();
  const std::vector<uint8_t> bytes(10, 1);
  try {
    write_all_bounded(p.w.get(), bytes, transport::Clock::now() + 1s, "handoff");
    FAIL();
  } catch (const HandoffError& e) {
    EXPECT_NE(std::string(e.what()).find("reader closed the pipe"), std::string::npos);
  }
}

TEST(HandoffIo, WriteToStalledReaderHonoursDeadline) {
  TestPipe p;
  const std::vector<uint8_t> bytes(4u << 20, 1);  // far above any pipe buffer
  const auto start = transport::Clock::now();
  try {
    write_all_bounded(p.w.get(), bytes, start + 200ms, "handoff");
    FAIL();
  } catch (const HandoffError& e) {
    EXPECT_TRUE(e.timed_out());
  }
  EXPECT_LT(transport::Clock::now() - start, 2s);
}

}  // namespace
}  // namespace echelon::remote
