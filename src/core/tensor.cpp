#include "echelon/tensor.h"

#include <limits>

#include "core/shm_attach.h"
#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {
namespace {

constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

uint64_t sat_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? kSaturated : r;
}
uint64_t sat_add(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? kSaturated : r;
}

void fill_geometry(Tensor& t, std::span<const uint32_t> shape, DataType dtype,
                   std::span<const uint32_t> strides) {
  if (shape.empty() || shape.size() > MAX_TENSOR_DIMS)
    throw ValidationError(fmt::format("tensor: ndims {} outside 1..{}", shape.size(), MAX_TENSOR_DIMS));
  if (!strides.empty() && strides.size() != shape.size())
    throw ValidationError(fmt::format("tensor: {} strides given for {} dims", strides.size(), shape.size()));
  t.ndims = static_cast<uint32_t>(shape.size());
  t.dtype = dtype;
  uint64_t running = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    t.shapes[i] = shape[i];
    if (strides.empty()) {
      if (running > std::numeric_limits<uint32_t>::max())
        throw ValidationError(fmt::format("tensor: row-major stride of dim {} exceeds u32", i));
      t.strides[i] = static_cast<uint32_t>(running);
      running = sat_mul(running, shape[i] == 0 ? 1 : shape[i]);
    } else {
      t.strides[i] = strides[i];
    }
  }
}

}  // namespace

Tensor Tensor::view(const BufferDescriptor& buffer, uint64_t byte_offset,
                    std::span<const uint32_t> shape, DataType dtype, std::span<const uint32_t> strides) {
  Tensor t;
  t.buffer = buffer;
  t.byte_offset = byte_offset;
  fill_geometry(t, shape, dtype, strides);
  t.validate();
  return t;
}

Tensor Tensor::unbound(std::span<const uint32_t> shape, DataType dtype) {
  Tensor t;
  fill_geometry(t, shape, dtype, {});
  t.validate_geometry();
  return t;
}

uint64_t Tensor::numel() const {
  uint64_t n = 1;
  for (uint32_t i = 0; i < ndims && i < MAX_TENSOR_DIMS; ++i) n = sat_mul(n, shapes[i]);
  return n;
}

uint64_t Tensor::extent_bytes() const {
  uint64_t span = 0;
  for (uint32_t i = 0; i < ndims && i < MAX_TENSOR_DIMS; ++i)
    span = sat_add(span, sat_mul(uint64_t{shapes[i]} - (shapes[i] ? 1 : 0), strides[i]));
  return sat_mul(sat_add(span, 1), element_size(dtype));
}

bool Tensor::is_contiguous() const {
  uint64_t expect = 1;
  for (int i = static_cast<int>(ndims) - 1; i >= 0; --i) {
    if (shapes[i] != 1 && strides[i] != expect) return false;
    expect *= shapes[i];
  }
  return true;
}

void Tensor::validate_geometry() const {
  if (ndims < 1 || ndims > MAX_TENSOR_DIMS)
    throw ValidationError(fmt::format("tensor: ndims {} outside 1..{}", ndims, MAX_TENSOR_DIMS));
  if (!is_valid(dtype))
    throw ValidationError(fmt::format("tensor: dtype {} is not a valid DataType", static_cast<int>(dtype)));
  const size_t esize = element_size(dtype);
  if (byte_offset % esize != 0)
    throw ValidationError(fmt::format("tensor: byte_offset {} is not a multiple of the {}-byte element size of {}",
                                      byte_offset, esize, to_string(dtype)));
  for (uint32_t i = 0; i < ndims; ++i) {
    if (shapes[i] == 0) throw ValidationError(fmt::format("tensor: shapes[{}] is 0", i));
    if (strides[i] == 0) throw ValidationError(fmt::format("tensor: strides[{}] is 0", i));
  }
  for (uint32_t i = ndims; i < MAX_TENSOR_DIMS; ++i)
    if (shapes[i] != 0 || strides[i] != 0)
      throw ValidationError(fmt::format("tensor: shapes/strides slot {} past ndims {} is not zero", i, ndims));
  if (extent_bytes() == kSaturated) throw ValidationError("tensor: extent saturates 64 bits (unrepresentable view)");
}

void Tensor::validate() const {
  validate_geometry();
  if (!bound()) return;
  buffer.validate();
  const uint64_t end = sat_add(byte_offset, extent_bytes());
  if (end == kSaturated || end > buffer.nbytes)
    throw ValidationError(fmt::format("tensor: byte_offset {} + extent {} exceeds backing nbytes {}",
                                      byte_offset, extent_bytes(), buffer.nbytes));
}

std::byte* Tensor::data() const {
  if (!bound()) throw UsageError("tensor: data() on an unbound tensor");
  if (buffer.backend_kind == BackendKind::POSIX_SHM) return attach_posix_shm(buffer) + byte_offset;
  if (!buffer.has_address())
    throw UsageError(fmt::format("tensor: data() on a {} backing, which has no local address",
                                 to_string(buffer.backend_kind)));
  return reinterpret_cast<std::byte*>(buffer.base_address() + byte_offset);
}

std::string Tensor::describe() const {
  std::string shape;
  for (uint32_t i = 0; i < ndims && i < MAX_TENSOR_DIMS; ++i) shape += fmt::format("{}{}", i ? "x" : "", shapes[i]);
  if (!bound()) return fmt::format("unbound {}[{}]", to_string(dtype), shape);
  return fmt::format("{}[{}] @{} of {} buffer {}/gen {}", to_string(dtype), shape, byte_offset,
                     to_string(buffer.backend_kind), buffer.identity.buffer_id, buffer.identity.generation);
}

bool operator==(const Tensor& a, const Tensor& b) {
  if (!(a.buffer == b.buffer) || a.byte_offset != b.byte_offset || a.ndims != b.ndims || a.dtype != b.dtype)
    return false;
  for (uint32_t i = 0; i < MAX_TENSOR_DIMS; ++i)
    if (a.shapes[i] != b.shapes[i] || a.strides[i] != b.strides[i]) return false;
  return true;
}

}  // namespace echelon
