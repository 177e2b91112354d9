// TensorWire (protocol.md 6.3): the remote encoding of a Tensor placeholder. On this wire it never
// names a local backing: backend REMOTE_SIDECAR, empty body, byte_offset 0.
#pragma once

#include "echelon/tensor.h"
#include "wire/byte_reader.h"
#include "wire/byte_writer.h"

namespace echelon::wire {

// Placeholder rules plus full tensor validation; throws WireError naming the field. The writer
// does not validate (encoders validate a whole payload first); the reader always does.
void validate_tensor_wire(const Tensor& t);
void write_tensor_wire(ByteWriter& out, const Tensor& t);
void read_tensor_wire(ByteReader& in, Tensor& out);

// Smallest encoding of one record (one dimension, empty body), used to bound counts.
inline constexpr size_t TENSOR_WIRE_MIN_BYTES = 39 + 8 + 4 + 4 + 4 + 4;

}  // namespace echelon::wire
