#include "session/chip_payload_check.h"

#include <fmt/format.h>

#include <cstring>
#include <string_view>

#include "session/register_refusal.h"

namespace echelon::session {

namespace {

using wire::WireStatus;

// The fields of a CHIP_CALLABLE descriptor (callables.md 2.2).
struct ChipDescriptorFields {
  std::string target_arch, platform, runtime;
  Digest blob_sha256{}, signature_schema_hash{};
};

// A strict reader of the descriptor encoding (callables.md 2.1): throws std::runtime_error naming
// the field that does not fit.
class DescriptorReader {
 public:
  explicit DescriptorReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint32_t u32(const char* field) {
    need(4, field);
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | bytes_[pos_ + static_cast<size_t>(i)];
    pos_ += 4;
    return v;
  }
  std::string str(const char* field) {
    const uint32_t n = u32(field);
    need(n, field);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  Digest digest(const char* field) {
    if (u32(field) != CALLABLE_HASH_DIGEST_SIZE) throw std::runtime_error(fmt::format("{} is not 32 bytes", field));
    need(CALLABLE_HASH_DIGEST_SIZE, field);
    Digest d;
    std::memcpy(d.data(), bytes_.data() + pos_, d.size());
    pos_ += d.size();
    return d;
  }
  void end() const {
    if (pos_ != bytes_.size()) throw std::runtime_error(fmt::format("{} trailing bytes", bytes_.size() - pos_));
  }

 private:
  void need(size_t n, const char* field) const {
    if (bytes_.size() - pos_ < n) throw std::runtime_error(fmt::format("truncated at {}", field));
  }
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

ChipDescriptorFields decode_chip_descriptor(std::span<const uint8_t> bytes) {
  DescriptorReader r(bytes);
  const uint32_t version = r.u32("descriptor_schema_version");
  if (version != DESCRIPTOR_SCHEMA_VERSION)
    throw std::runtime_error(fmt::format("descriptor_schema_version {} is not {}", version, DESCRIPTOR_SCHEMA_VERSION));
  const uint32_t kind = r.u32("callable_kind");
  if (kind != static_cast<uint32_t>(CallableKind::CHIP_CALLABLE))
    throw std::runtime_error(fmt::format("callable_kind {} is not CHIP_CALLABLE", kind));
  ChipDescriptorFields f;
  f.target_arch = r.str("target_arch");
  f.platform = r.str("platform");
  f.runtime = r.str("runtime");
  f.blob_sha256 = r.digest("callable_blob_sha256");
  f.signature_schema_hash = r.digest("signature_schema_hash");
  r.end();
  return f;
}

[[noreturn]] void refuse(const char* rule, const std::string& detail, WireStatus status = WireStatus::REJECTED) {
  throw RegisterRefusal(status, rule, detail);
}

}  // namespace

ChipCallable verify_chip_payload(const wire::ChipCallablePayload& p, const Digest& requested) {
  // 1. The descriptor decodes and is the one the command names.
  ChipDescriptorFields d;
  try {
    d = decode_chip_descriptor(p.descriptor);
  } catch (const std::exception& e) {
    refuse("chip descriptor", fmt::format("descriptor_bytes do not decode as a CHIP_CALLABLE descriptor: {}", e.what()));
  }
  if (sha256(p.descriptor) != requested)
    refuse("HASHID_DESCRIPTOR_MISMATCH (descriptor hash)",
           fmt::format("SHA-256(descriptor_bytes) is {}, the command names {}", to_hashid(sha256(p.descriptor)),
                       to_hashid(requested)));
  // 2. The descriptor and the payload agree on which blob this is.
  if (d.blob_sha256 != p.blob_sha256)
    refuse("descriptor/blob digest disagreement",
           fmt::format("the descriptor's callable_blob_sha256 is {}, the payload's blob_sha256 is {}",
                       to_hex(d.blob_sha256), to_hex(p.blob_sha256)));
  // 3. Where the bytes are.
  if (p.blob_location == wire::BlobLocation::STAGED_BLOB)
    refuse("STAGED_BLOB", "STAGED_BLOB is unsupported without a negotiated staged-blob adapter",
           WireStatus::UNSUPPORTED);
  if (p.inline_blob.size() != p.blob_size || !p.staged_blob_token.empty())
    refuse("inline size", fmt::format("inline_blob holds {} bytes, blob_size says {}", p.inline_blob.size(), p.blob_size));
  // 4. The bytes are the ones named.
  const Digest actual = sha256(p.inline_blob);
  if (actual != p.blob_sha256)
    refuse("blob SHA-256 mismatch",
           fmt::format("SHA-256 of the {} blob bytes is {}, blob_sha256 says {}", p.inline_blob.size(), to_hex(actual),
                       to_hex(p.blob_sha256)));
  // 5. The descriptor was built for this runner's chips...
  const std::string arch = host_target_arch();
  if (d.target_arch != arch || d.platform != CHIP_PLATFORM || d.runtime != CHIP_RUNTIME)
    refuse("context mismatch",
           fmt::format("the descriptor is for target_arch '{}', platform '{}', runtime '{}'; this runner's chips are "
                       "'{}', '{}', '{}'",
                       d.target_arch, d.platform, d.runtime, arch, CHIP_PLATFORM, CHIP_RUNTIME));
  // ...and the signature the blob exports is the one the descriptor names.
  std::optional<ChipCallable> chip;
  try {
    chip.emplace(ChipCallable::from_bytes(p.inline_blob));
  } catch (const std::exception& e) {
    refuse("chip blob load", fmt::format("the blob is not a loadable kernel on this runner: {}", e.what()));
  }
  const Digest signature = chip_signature_hash(chip->signature());
  if (signature != d.signature_schema_hash)
    refuse("signature mismatch",
           fmt::format("the blob exports a {}-argument signature hashing to {}, the descriptor names {}",
                       chip->signature().size(), to_hex(signature), to_hex(d.signature_schema_hash)));
  if (chip->descriptor() != p.descriptor)
    refuse("rebuilt descriptor", "the descriptor rebuilt from the blob and this runner's context differs byte for byte");
  return std::move(*chip);
}

}  // namespace echelon::session
