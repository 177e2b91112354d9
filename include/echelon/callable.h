// Callable identity: SHA-256 of a canonical descriptor (runtime.md RT-209/210, callables.md 1-2).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace echelon {

inline constexpr size_t CALLABLE_HASH_DIGEST_SIZE = 32;
inline constexpr uint32_t DESCRIPTOR_SCHEMA_VERSION = 1;
inline constexpr size_t MAX_STRING_BYTES = 1024;

using Digest = std::array<uint8_t, CALLABLE_HASH_DIGEST_SIZE>;

// Hash for unordered containers keyed by digest: the digest is already uniformly distributed.
struct DigestHash {
  size_t operator()(const Digest& d) const noexcept {
    size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

enum class CallableKind : uint32_t {
  CHIP_CALLABLE = 1,
  PYTHON_SERIALIZED = 2,
  PYTHON_IMPORT = 3,
  NATIVE_IMPORT = 4,
  NATIVE_INPROC = 5,  // local only; never valid on the wire
};

// Scope of a parent-held handle (callables.md 3). Not to be confused with the wire's
// RemoteRegistryTarget.
enum class TargetNamespace : uint32_t {
  LOCAL_CHIP = 1,
  LOCAL_PYTHON = 2,
  REMOTE_TASK_DISPATCHER = 3,
  LOCAL_NATIVE = 4,
};

const char* to_string(CallableKind k);
const char* to_string(TargetNamespace s);

// SHA-256 (OpenSSL).
Digest sha256(std::span<const uint8_t> bytes);
std::string to_hex(std::span<const uint8_t> bytes);
// "sha256:" + 64 lowercase hex digits.
std::string to_hashid(const Digest& digest);
// Strict parse of the text form; throws CallableError("HASHID_FORMAT_INVALID: ...").
// `allow_bare` also accepts the 64 hex digits without the prefix (manifests, inner lookup).
Digest parse_hashid(std::string_view text, bool allow_bare = false);

struct CallableIdentity {
  Digest digest{};
  CallableKind kind = CallableKind::NATIVE_INPROC;
  TargetNamespace scope = TargetNamespace::LOCAL_NATIVE;

  std::string hashid() const { return to_hashid(digest); }
  friend bool operator==(const CallableIdentity&, const CallableIdentity&) = default;
};

// Deterministic descriptor encoding (callables.md 2.1): LE unsigned integers, u32-length-prefixed
// strings and byte arrays, u8-present optionals.
class DescriptorWriter {
 public:
  DescriptorWriter& u8(uint8_t v);
  DescriptorWriter& u32(uint32_t v);
  DescriptorWriter& str(std::string_view s);
  DescriptorWriter& bytes(std::span<const uint8_t> b);
  std::vector<uint8_t> take() { return std::move(out_); }
  const std::vector<uint8_t>& view() const { return out_; }

 private:
  std::vector<uint8_t> out_;
};

// `library:symbol` (callables.md 2.6), validated: library is a plugin name, symbol a C identifier.
struct NativeImportTarget {
  std::string library;
  std::string symbol;
  // Throws ValidationError naming the broken rule.
  static NativeImportTarget parse(std::string_view text);
};

// `module:qualname` (callables.md 2.3).
struct PythonImportTarget {
  std::string module;
  std::string qualname;
  static PythonImportTarget parse(std::string_view text);
};

// Validates a NATIVE_INPROC name: 1..256 bytes of [A-Za-z_][A-Za-z0-9_.]*.
void validate_inproc_name(std::string_view name);

enum class ArgDirection : uint32_t { SCALAR = 0, IN = 1, OUT = 2, INOUT = 3 };

std::vector<uint8_t> native_import_descriptor(const NativeImportTarget& target);
std::vector<uint8_t> native_inproc_descriptor(std::string_view name);
std::vector<uint8_t> python_import_descriptor(const PythonImportTarget& target);
std::vector<uint8_t> python_serialized_descriptor(uint32_t payload_format_version,
                                                  uint32_t serializer_id, const Digest& payload_sha256);
Digest chip_signature_hash(std::span<const ArgDirection> directions);
std::vector<uint8_t> chip_callable_descriptor(std::string_view target_arch, std::string_view platform,
                                              std::string_view runtime, const Digest& blob_sha256,
                                              const Digest& signature_schema_hash);

// Identity of a descriptor in a given handle scope.
CallableIdentity make_identity(std::span<const uint8_t> descriptor, CallableKind kind,
                               TargetNamespace scope);

}  // namespace echelon
