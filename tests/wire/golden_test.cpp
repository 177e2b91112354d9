// Golden vectors (tests/wire/golden/*.hex): every frame type and every control layout, decoded and
// re-encoded byte for byte. The most important ones are also rebuilt here by hand from the spec's
// byte tables, independently of the encoder, so the files cannot silently follow an encoder bug.
//
// ECHELON_WIRE_REGEN_GOLDEN=1 rewrites the files from representative_frames(); the hand-built
// checks below must still pass afterwards, which is what makes a regeneration reviewable.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = ECHELON_WIRE_GOLDEN_DIR;

Bytes read_golden(const std::string& name) {
  std::ifstream in(kGoldenDir / (name + ".hex"));
  if (!in) throw std::runtime_error("missing golden file " + name + ".hex");
  std::stringstream ss;
  ss << in.rdbuf();
  return from_hex(ss.str());
}

void write_golden(const std::string& name, const Bytes& frame) {
  std::ofstream out(kGoldenDir / (name + ".hex"));
  const FrameView f = decode_frame(frame);
  out << "# " << name << ": SLR3 " << to_string(f.header.type) << " frame, " << frame.size()
      << " bytes (40-byte header, then payload)\n";
  out << to_hex(std::span(frame).first(FRAME_HEADER_BYTES)) << "\n";
  for (size_t i = FRAME_HEADER_BYTES; i < frame.size(); i += 32)
    out << to_hex(std::span(frame).subspan(i, std::min<size_t>(32, frame.size() - i))) << "\n";
}

constexpr uint64_t kSession = 0x0123456789ABCDEFull;

Bytes frame_of(uint32_t type, uint64_t seq, const SpecBytes& payload) {
  return concat(spec_header(type, kSession, 3, seq, static_cast<uint32_t>(payload.size())), payload.bytes());
}

SpecBytes hand_digest(SpecBytes s, uint8_t seed) {
  for (int i = 0; i < 32; ++i) s.u8(static_cast<uint8_t>(seed + i));
  return s;
}

// --- frames written out from the spec tables ----------------------------------------------------

Bytes hand_hello() {
  SpecBytes p;
  p.u64(kSession).i32(3).u32(1).u32(8).ascii("host_tcp").u64(0).u32(1);
  return frame_of(1, 0, p);
}

Bytes hand_hello_ext() {
  SpecBytes p;
  p.u64(kSession).i32(3).u32(1).u32(8).ascii("host_tcp").u64(0x3).u32(1);
  p.u32(1).u32(4);                                        // ext_version, max_tasks_in_flight
  for (int i = 0; i < 32; ++i) p.u8(static_cast<uint8_t>(0xA0 + i));  // auth_nonce
  for (int i = 0; i < 32; ++i) p.u8(static_cast<uint8_t>(0x40 + i));  // auth_mac
  p.u32(0);                                               // reserved
  return frame_of(1, 0, p);
}

Bytes hand_task() {
  SpecBytes p = hand_digest(SpecBytes{}, 0x11);          // callable_hash_digest
  p.i32(2).i32(0).i32(0).i32(0).i32(0).i32(1);           // CallConfigWire integers
  p.u32(10).ascii("/tmp/trace");                         // output_prefix
  p.u32(3).u32(3);                                       // tensor_count, scalar_count
  // TensorWire 0: REMOTE_DEVICE placeholder of worker 3, buffer 7, f32[4,4].
  p.u64(3).u64(7).u32(1).u8(1).u8(2).u8(3).u64(64).u32(3).u32(0).u64(0).u32(2).u32(4).u32(4).u32(4).u32(1).u32(0);
  // TensorWire 1: REMOTE_WINDOW placeholder of worker 5, buffer 9, f16[8].
  p.u64(5).u64(9).u32(1).u8(0).u8(2).u8(3).u64(16).u32(5).u32(0).u64(0).u32(1).u32(8).u32(1).u32(1);
  // TensorWire 2: HOST_INLINE placeholder (owner 0, buffer 0, generation 1), i32[2,4].
  p.u64(0).u64(0).u32(1).u8(0).u8(2).u8(3).u64(32).u32(0).u32(0).u64(0).u32(2).u32(2).u32(4).u32(4).u32(1).u32(2);
  // Descriptors: present byte then the 80-byte RemoteTensorDescWire.
  p.u8(1).u32(2).i32(3).u64(7).u64(128).u64(64).u64(0).u64(0).u64(1).u64(0).u64(0).u64(0);
  p.u8(1).u32(3).i32(5).u64(9).u64(0).u64(16).u64(0).u64(2).u64(1).u64(0).u64(0).u64(0);
  p.u8(1).u32(1).i32(0).u64(0).u64(0).u64(32).u64(0).u64(0).u64(0).u64(16).u64(32).u64(0);
  p.u64(1).u64(0xFFFFFFFFFFFFFFFFull).u64(0x3FF0000000000000ull);  // scalars
  p.u32(64);                                                         // inline arena
  for (int i = 0; i < 64; ++i) p.u8(static_cast<uint8_t>(i * 3));
  return frame_of(2, 1, p);
}

Bytes hand_completion_failed() {
  const std::string text = "[host=h worker=3] kernel returned 7 \xE2\x82\xAC";
  SpecBytes p;
  p.u64(2).i32(1).u32(static_cast<uint32_t>(text.size())).ascii(text);
  return frame_of(5, 2, p);
}

Bytes hand_control(uint64_t seq, uint32_t name, const SpecBytes& command) {
  SpecBytes p;
  p.u32(name).u32(1).u32(static_cast<uint32_t>(command.size())).raw(command.bytes());
  return frame_of(3, seq, p);
}

Bytes hand_reply(uint64_t seq, uint32_t name, const SpecBytes& result) {
  SpecBytes p;
  p.u64(seq).u32(name).u32(1).i32(0).u32(0).u32(static_cast<uint32_t>(result.size())).raw(result.bytes());
  return frame_of(4, seq, p);
}

TEST(Golden, HandDerivedFramesMatchFiles) {
  SpecBytes none;
  const std::vector<std::pair<std::string, Bytes>> hand = {
      {"hello", hand_hello()},
      {"hello_ext", hand_hello_ext()},
      {"task", hand_task()},
      {"completion_ok", frame_of(5, 1, SpecBytes{}.u64(1).i32(0).u32(0))},
      {"completion_failed", hand_completion_failed()},
      {"health", frame_of(6, 5, none)},
      {"health_proof", frame_of(6, 0, hand_digest(SpecBytes{}, 0x90))},
      {"shutdown", frame_of(7, 9, none)},
      {"control_commit_register", hand_control(12, 3, hand_digest(SpecBytes{}.u32(1).u32(4), 1))},
      {"control_alloc", hand_control(16, 6, SpecBytes{}.u64(4096))},
      {"reply_alloc", hand_reply(16, 6, SpecBytes{}.i32(3).u64(7).u64(1).i32(2).u64(4096).u64(0).u64(0).u64(0))},
      {"control_free", hand_control(17, 7, SpecBytes{}.i32(3).u64(7).u64(1))},
      {"control_copy_to", hand_control(18, 8, SpecBytes{}.i32(3).u64(7).u64(1).u64(16).u64(4).u8(1).u8(2).u8(3).u8(4))},
      {"reply_copy_from", hand_reply(19, 9, SpecBytes{}.u8(1).u8(2).u8(3).u8(4))},
      {"control_release_import", hand_control(24, 12, SpecBytes{}.i32(5).i32(3).u64(7).u64(1).u64(2).u32(0))},
  };
  for (const auto& [name, bytes] : hand) {
    SCOPED_TRACE(name);
    EXPECT_EQ(to_hex(read_golden(name)), to_hex(bytes));
  }
}

TEST(Golden, EveryFrameTypeAndControlHasAFileThatRoundTrips) {
  const bool regen = std::getenv("ECHELON_WIRE_REGEN_GOLDEN") != nullptr;
  std::set<uint32_t> types_seen;
  std::set<uint32_t> controls_seen, replies_seen;
  for (const auto& [name, frame] : representative_frames()) {
    SCOPED_TRACE(name);
    const Bytes encoded = encode_typed_frame(frame);
    if (regen) write_golden(name, encoded);
    const Bytes golden = read_golden(name);
    EXPECT_EQ(to_hex(encoded), to_hex(golden));
    const TypedFrame decoded = decode_typed_frame(golden);
    EXPECT_TRUE(decoded.payload == frame.payload);
    EXPECT_EQ(encode_typed_frame(decoded), golden);
    types_seen.insert(static_cast<uint32_t>(decoded.header.type));
    if (const auto* c = std::get_if<TypedControl>(&decoded.payload)) controls_seen.insert(static_cast<uint32_t>(c->name));
    if (const auto* r = std::get_if<TypedControlReply>(&decoded.payload)) replies_seen.insert(static_cast<uint32_t>(r->name));
  }
  EXPECT_EQ(types_seen.size(), 7u);
  EXPECT_EQ(controls_seen.size(), 12u);  // every implemented control name
  EXPECT_EQ(replies_seen.size(), 12u);
}

TEST(Golden, NoStrayFiles) {
  std::set<std::string> known;
  for (const auto& [name, frame] : representative_frames()) known.insert(name + ".hex");
  for (const auto& entry : fs::directory_iterator(kGoldenDir))
    EXPECT_TRUE(known.count(entry.path().filename().string())) << "unexpected " << entry.path();
}

}  // namespace
}  // namespace echelon::wire::test
