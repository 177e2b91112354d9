// TensorWire placeholders (protocol.md 6.3; WIRE-12/13).
#include "wire/byte_reader.h"
#include "wire/tensor_wire.h"
#include "wire_test_support.h"

namespace echelon::wire::test {
namespace {

Tensor sample_placeholder() {
  const uint32_t shape[] = {3, 4};
  const uint32_t strides[] = {8, 2};  // strided: every other element of a padded row
  return remote_placeholder(device_desc(3, 7, 0, 4 * ((2 * 8 + 3 * 2) + 1)), shape, DataType::FLOAT32, strides);
}

Bytes encode_tensor(const Tensor& t) {
  validate_tensor_wire(t);
  ByteWriter w;
  write_tensor_wire(w, t);
  return w.take();
}

Tensor decode_tensor(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "TensorWire");
  Tensor t;
  read_tensor_wire(r, t);
  r.expect_end();
  return t;
}

TEST(TensorWire, StridedViewRoundTrips) {
  const Tensor t = sample_placeholder();
  const Bytes b = encode_tensor(t);
  EXPECT_EQ(b.size(), 39 + 8 + 4 + 2 * 4 + 2 * 4 + 4);
  const Tensor back = decode_tensor(b);
  EXPECT_EQ(back, t);
  EXPECT_EQ(back.strides[0], 8u);
  EXPECT_EQ(back.strides[1], 2u);
  EXPECT_EQ(back.buffer.magic, BufferDescriptor::MAGIC);
}

TEST(TensorWire, LayoutMatchesSpec) {
  const Tensor t = sample_placeholder();
  SpecBytes s;
  s.u64(3)                        // owner_instance_id = worker 3 as 8 LE bytes
      .u64(7)                     // buffer_id
      .u32(1)                     // generation
      .u8(1)                      // address_space DEVICE (REMOTE_DEVICE descriptor)
      .u8(2)                      // access READWRITE
      .u8(3)                      // backend_kind REMOTE_SIDECAR
      .u64(t.buffer.nbytes)       // nbytes
      .u32(3)                     // owner_worker_path_id
      .u32(0)                     // body_len
      .u64(0)                     // byte_offset @39
      .u32(2).u32(3).u32(4)       // ndims, shapes
      .u32(8).u32(2)              // strides
      .u32(0);                    // dtype FLOAT32
  EXPECT_EQ(encode_tensor(t), s.bytes());
}

TEST(TensorWire, RejectsLocalBackingOnEncode) {
  Tensor t = sample_placeholder();
  t.buffer.backend_kind = BackendKind::POSIX_SHM;
  try {
    encode_tensor(t);
    ADD_FAILURE() << "encode accepted a local backing";
  } catch (const WireError& e) {
    EXPECT_EQ(e.code(), WireErrc::LOCAL_BACKING);
    EXPECT_NE(std::string(e.what()).find("carries a local backing"), std::string::npos) << e.what();
  }
  Tensor unbound = Tensor::unbound({4}, DataType::FLOAT32);
  EXPECT_WIRE_ERROR(encode_tensor(unbound), WireErrc::LOCAL_BACKING, "TensorWire");
}

TEST(TensorWire, RejectsLocalBackingOnDecode) {
  Bytes b = encode_tensor(sample_placeholder());
  for (uint8_t kind : {0, 1, 2, 4, 5}) {
    b[22] = kind;  // backend_kind: after owner(8) buffer(8) generation(4) space(1) access(1)
    try {
      decode_tensor(b);
      ADD_FAILURE() << "decode accepted backend " << int(kind);
    } catch (const WireError& e) {
      EXPECT_EQ(e.code(), WireErrc::LOCAL_BACKING);
      EXPECT_NE(std::string(e.what()).find("carries a local backing"), std::string::npos) << e.what();
    }
  }
  b[22] = 6;
  EXPECT_WIRE_ERROR(decode_tensor(b), WireErrc::UNKNOWN_ENUM, "TensorWire.backend_kind");
}

TEST(TensorWire, RejectsByteOffsetOnEncodeAndDecode) {
  Tensor t = sample_placeholder();
  t.byte_offset = 4;
  try {
    encode_tensor(t);
    ADD_FAILURE();
  } catch (const WireError& e) {
    EXPECT_EQ(e.code(), WireErrc::BYTE_OFFSET);
    EXPECT_NE(std::string(e.what()).find("carries a byte_offset"), std::string::npos);
  }
  Bytes b = encode_tensor(sample_placeholder());
  b[39] = 4;  // the u64 byte_offset at record offset 39
  try {
    decode_tensor(b);
    ADD_FAILURE();
  } catch (const WireError& e) {
    EXPECT_EQ(e.code(), WireErrc::BYTE_OFFSET);
    EXPECT_NE(std::string(e.what()).find("carries a byte_offset"), std::string::npos);
  }
}

TEST(TensorWire, RejectsExtentPastBacking) {
  Tensor t = sample_placeholder();
  t.buffer.nbytes -= 1;
  EXPECT_WIRE_ERROR(encode_tensor(t), WireErrc::OUT_OF_RANGE, "TensorWire.nbytes");
  Bytes b = encode_tensor(sample_placeholder());
  b[23] -= 1;  // nbytes low byte
  EXPECT_WIRE_ERROR(decode_tensor(b), WireErrc::OUT_OF_RANGE, "TensorWire.nbytes");
}

TEST(TensorWire, RejectsSaturatingExtent) {
  Tensor t = sample_placeholder();
  t.ndims = 5;
  for (int i = 0; i < 5; ++i) {
    t.shapes[i] = 0xFFFFFFFFu;
    t.strides[i] = 0xFFFFFFFFu;
  }
  t.buffer.nbytes = UINT64_MAX;
  EXPECT_WIRE_ERROR(encode_tensor(t), WireErrc::OUT_OF_RANGE, "TensorWire.shapes");
}

TEST(TensorWire, RejectsZeroGeneration) {
  Bytes b = encode_tensor(sample_placeholder());
  b[16] = 0;  // generation u32 at 16
  EXPECT_WIRE_ERROR(decode_tensor(b), WireErrc::INVALID_VALUE, "TensorWire.generation");
}

TEST(TensorWire, RejectsUnknownDtype) {
  Bytes b = encode_tensor(sample_placeholder());
  b[b.size() - 4] = 15;
  EXPECT_WIRE_ERROR(decode_tensor(b), WireErrc::UNKNOWN_ENUM, "TensorWire.dtype");
}

TEST(TensorWire, RejectsBadGeometry) {
  Bytes b = encode_tensor(sample_placeholder());
  Bytes zero_dims = b;
  zero_dims[47] = 0;  // ndims at 39 + 8
  EXPECT_WIRE_ERROR(decode_tensor(zero_dims), WireErrc::INVALID_VALUE, "TensorWire.ndims");
  Bytes six_dims = b;
  six_dims[47] = 6;
  EXPECT_WIRE_ERROR(decode_tensor(six_dims), WireErrc::INVALID_VALUE, "TensorWire.ndims");
  Bytes zero_shape = b;
  zero_shape[51] = 0;
  EXPECT_WIRE_ERROR(decode_tensor(zero_shape), WireErrc::INVALID_VALUE, "TensorWire.shapes");
  Bytes zero_stride = b;
  zero_stride[59] = 0;
  EXPECT_WIRE_ERROR(decode_tensor(zero_stride), WireErrc::INVALID_VALUE, "TensorWire.strides");
}

TEST(TensorWire, RejectsBodyOnSidecar) {
  Bytes b = encode_tensor(sample_placeholder());
  Bytes too_long = b;
  too_long[35] = 33;  // body_len at 35
  EXPECT_WIRE_ERROR(decode_tensor(too_long), WireErrc::TOO_LONG, "TensorWire.body_len");
  Bytes with_body = b;
  with_body[35] = 1;
  with_body.insert(with_body.begin() + 39, 0x41);
  EXPECT_WIRE_ERROR(decode_tensor(with_body), WireErrc::INVALID_VALUE, "TensorWire.body_len");
}

TEST(TensorWire, RejectsUnknownAddressSpaceAndAccess) {
  Bytes b = encode_tensor(sample_placeholder());
  Bytes space = b;
  space[20] = 2;
  EXPECT_WIRE_ERROR(decode_tensor(space), WireErrc::UNKNOWN_ENUM, "TensorWire.address_space");
  Bytes access = b;
  access[21] = 3;
  EXPECT_WIRE_ERROR(decode_tensor(access), WireErrc::UNKNOWN_ENUM, "TensorWire.access");
}

}  // namespace
}  // namespace echelon::wire::test
