#include "wire/tensor_wire.h"

#include "fmt/format.h"
#include "wire/enum_field.h"
#include "wire/limits.h"
#include "wire/wire_error.h"

namespace echelon {
// Wire enums of the core model, made checkable by known_enum/require_known.
constexpr bool is_known(AddressSpace s) { return static_cast<uint8_t>(s) <= static_cast<uint8_t>(AddressSpace::DEVICE); }
constexpr bool is_known(AccessMode m) { return static_cast<uint8_t>(m) <= static_cast<uint8_t>(AccessMode::READWRITE); }
constexpr bool is_known(BackendKind k) { return static_cast<uint8_t>(k) < BACKEND_KIND_NUM; }
constexpr bool is_known(DataType t) { return is_valid(t); }
}  // namespace echelon

namespace echelon::wire {

void validate_tensor_wire(const Tensor& t) {
  const BufferDescriptor& b = t.buffer;
  if (b.magic != BufferDescriptor::MAGIC)
    fail(WireErrc::LOCAL_BACKING, "TensorWire", "argument is an unbound tensor; a remote argument needs a sidecar placeholder");
  require_known(b.address_space, "TensorWire.address_space");
  require_known(b.access, "TensorWire.access");
  require_known(b.backend_kind, "TensorWire.backend_kind");
  if (b.backend_kind != BackendKind::REMOTE_SIDECAR)
    fail(WireErrc::LOCAL_BACKING, "TensorWire.backend_kind",
         fmt::format("argument carries a local backing ({}); only REMOTE_SIDECAR may cross hosts",
                     to_string(b.backend_kind)));
  if (b.body_len > DESC_MAX_BYTES)
    fail(WireErrc::TOO_LONG, "TensorWire.body_len", fmt::format("{} exceeds {}", b.body_len, DESC_MAX_BYTES));
  if (b.body_len != 0)
    fail(WireErrc::INVALID_VALUE, "TensorWire.body_len", "a REMOTE_SIDECAR body must be empty");
  if (b.identity.generation == 0)
    fail(WireErrc::INVALID_VALUE, "TensorWire.generation", "generation 0 means uninitialised");
  if (t.byte_offset != 0)
    fail(WireErrc::BYTE_OFFSET, "TensorWire.byte_offset",
         fmt::format("argument carries a byte_offset of {}; the sidecar names the position", t.byte_offset));
  if (t.ndims < 1 || t.ndims > MAX_TENSOR_DIMS)
    fail(WireErrc::INVALID_VALUE, "TensorWire.ndims", fmt::format("ndims {} is outside 1..{}", t.ndims, MAX_TENSOR_DIMS));
  for (uint32_t i = 0; i < t.ndims; ++i) {
    if (t.shapes[i] == 0) fail(WireErrc::INVALID_VALUE, "TensorWire.shapes", fmt::format("shapes[{}] is 0", i));
    if (t.strides[i] == 0) fail(WireErrc::INVALID_VALUE, "TensorWire.strides", fmt::format("strides[{}] is 0", i));
  }
  require_known(t.dtype, "TensorWire.dtype");
  const uint64_t extent = t.extent_bytes();
  if (extent == UINT64_MAX)
    fail(WireErrc::OUT_OF_RANGE, "TensorWire.shapes", "the view's extent saturates 64 bits");
  if (extent > b.nbytes)
    fail(WireErrc::OUT_OF_RANGE, "TensorWire.nbytes",
         fmt::format("view extent {} exceeds the backing's {} bytes", extent, b.nbytes));
  // Whatever the checks above do not name is still held to the common trust-boundary rules.
  try {
    t.validate();
  } catch (const ValidationError& e) {
    fail(WireErrc::INVALID_TENSOR, "TensorWire", e.what());
  }
}

void write_tensor_wire(ByteWriter& w, const Tensor& t) {
  const BufferDescriptor& b = t.buffer;
  w.fixed(b.identity.owner_instance_id);
  w.u64(b.identity.buffer_id);
  w.u32(b.identity.generation);
  w.u8(static_cast<uint8_t>(b.address_space));
  w.u8(static_cast<uint8_t>(b.access));
  w.u8(static_cast<uint8_t>(b.backend_kind));
  w.u64(b.nbytes);
  w.u32(b.owner_worker_path_id);
  w.u32(b.body_len);
  w.raw({b.body, b.body_len});
  w.u64(t.byte_offset);
  w.u32(t.ndims);
  for (uint32_t i = 0; i < t.ndims; ++i) w.u32(t.shapes[i]);
  for (uint32_t i = 0; i < t.ndims; ++i) w.u32(t.strides[i]);
  w.u32(static_cast<uint32_t>(t.dtype));
}

void read_tensor_wire(ByteReader& r, Tensor& t) {
  t = Tensor{};
  BufferDescriptor& b = t.buffer;
  b.magic = BufferDescriptor::MAGIC;  // not on the wire; a decoded placeholder is always bound
  r.fixed("TensorWire.owner_instance_id", b.identity.owner_instance_id);
  b.identity.buffer_id = r.u64("TensorWire.buffer_id");
  b.identity.generation = r.u32("TensorWire.generation");
  b.address_space = known_enum<AddressSpace>(r.u8("TensorWire.address_space"), "TensorWire.address_space");
  b.access = known_enum<AccessMode>(r.u8("TensorWire.access"), "TensorWire.access");
  b.backend_kind = known_enum<BackendKind>(r.u8("TensorWire.backend_kind"), "TensorWire.backend_kind");
  if (b.backend_kind != BackendKind::REMOTE_SIDECAR)
    fail(WireErrc::LOCAL_BACKING, "TensorWire.backend_kind",
         fmt::format("argument carries a local backing ({}); only REMOTE_SIDECAR may cross hosts",
                     to_string(b.backend_kind)));
  b.nbytes = r.u64("TensorWire.nbytes");
  b.owner_worker_path_id = r.u32("TensorWire.owner_worker_path_id");
  const uint32_t body_len = r.u32("TensorWire.body_len");
  if (body_len > DESC_MAX_BYTES)
    fail(WireErrc::TOO_LONG, "TensorWire.body_len", fmt::format("{} exceeds {}", body_len, DESC_MAX_BYTES));
  const auto body = r.raw("TensorWire.body", body_len);
  std::copy(body.begin(), body.end(), b.body);
  b.body_len = static_cast<uint16_t>(body_len);
  t.byte_offset = r.u64("TensorWire.byte_offset");
  const uint32_t ndims = r.u32("TensorWire.ndims");
  if (ndims < 1 || ndims > MAX_TENSOR_DIMS)
    fail(WireErrc::INVALID_VALUE, "TensorWire.ndims", fmt::format("ndims {} is outside 1..{}", ndims, MAX_TENSOR_DIMS));
  t.ndims = ndims;
  for (uint32_t i = 0; i < ndims; ++i) t.shapes[i] = r.u32("TensorWire.shapes");
  for (uint32_t i = 0; i < ndims; ++i) t.strides[i] = r.u32("TensorWire.strides");
  t.dtype = known_enum<DataType>(r.u32("TensorWire.dtype"), "TensorWire.dtype");
  validate_tensor_wire(t);
}

}  // namespace echelon::wire
