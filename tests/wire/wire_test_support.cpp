#include "wire_test_support.h"

#include <cctype>
#include <stdexcept>

namespace echelon::wire::test {

Bytes spec_header(uint32_t type, uint64_t session, int32_t worker, uint64_t sequence, uint32_t payload_bytes,
                  uint32_t flags, uint32_t version) {
  SpecBytes b;
  b.ascii("SLR3").u32(version).u32(type).u64(session).i32(worker).u64(sequence).u32(payload_bytes).u32(flags);
  return b.bytes();
}

Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t v : bytes) {
    s.push_back(digits[v >> 4]);
    s.push_back(digits[v & 15]);
  }
  return s;
}

Bytes from_hex(std::string_view text) {
  Bytes out;
  int pending = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else throw std::invalid_argument(std::string("bad hex character '") + c + "'");
    if (pending < 0) {
      pending = v;
    } else {
      out.push_back(static_cast<uint8_t>(pending << 4 | v));
      pending = -1;
    }
  }
  if (pending >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

Digest digest_of(uint8_t seed) {
  Digest d;
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(seed + i);
  return d;
}

HelloPayload sample_hello(bool with_extension) {
  HelloPayload h;
  h.session_id = 0x0123456789ABCDEFull;
  h.worker_id = 3;
  h.comm_profile = "host_tcp";
  if (with_extension) {
    h.feature_flags = FEATURE_AUTH_HMAC_SHA256 | FEATURE_PIPELINED_TASKS;
    HelloExt ext;
    ext.max_tasks_in_flight = 4;
    for (size_t i = 0; i < 32; ++i) {
      ext.auth_nonce[i] = static_cast<uint8_t>(0xA0 + i);
      ext.auth_mac[i] = static_cast<uint8_t>(0x40 + i);
    }
    h.ext = ext;
  }
  return h;
}

RemoteTensorDescWire device_desc(int32_t owner, uint64_t buffer, uint64_t offset, uint64_t nbytes) {
  RemoteTensorDescWire d;
  d.address_space = RemoteAddressSpace::REMOTE_DEVICE;
  d.owner_worker_id = owner;
  d.buffer_id = buffer;
  d.offset = offset;
  d.nbytes = nbytes;
  d.rkey_or_token = 0;
  d.generation = 1;
  return d;
}

RemoteTensorDescWire window_desc(int32_t owner, uint64_t buffer, uint64_t import_id, uint64_t nbytes) {
  RemoteTensorDescWire d = device_desc(owner, buffer, 0, nbytes);
  d.address_space = RemoteAddressSpace::REMOTE_WINDOW;
  d.rkey_or_token = import_id;
  return d;
}

RemoteTensorDescWire inline_desc(uint64_t arena_offset, uint64_t nbytes) {
  RemoteTensorDescWire d;
  d.address_space = RemoteAddressSpace::HOST_INLINE;
  d.nbytes = nbytes;
  d.inline_payload_offset = arena_offset;
  d.inline_payload_len = nbytes;
  return d;
}

namespace {

void add_arg(TaskPayload& t, const RemoteTensorDescWire& d, std::initializer_list<uint32_t> shape, DataType dtype) {
  t.args.tensors.push_back(remote_placeholder(d, std::span<const uint32_t>(shape.begin(), shape.size()), dtype));
  t.args.remote_desc.push_back(d);
}

}  // namespace

TaskPayload sample_task() {
  TaskPayload t;
  t.callable_digest = digest_of(0x11);
  t.config.aicpu_thread_num = 2;
  t.config.enable_scope_stats = 1;
  t.config.set_prefix("/tmp/trace");
  add_arg(t, device_desc(3, 7, 128, 4 * 16), {4, 4}, DataType::FLOAT32);
  add_arg(t, window_desc(5, 9, 2, 2 * 8), {8}, DataType::FLOAT16);
  t.args.inline_payload.resize(64);
  for (size_t i = 0; i < 64; ++i) t.args.inline_payload[i] = static_cast<uint8_t>(i * 3);
  add_arg(t, inline_desc(16, 32), {2, 4}, DataType::INT32);
  t.args.scalars = {1, 0xFFFFFFFFFFFFFFFFull, 0x3FF0000000000000ull};
  return t;
}

TaskPayload make_task(size_t tensors, size_t scalars, size_t inline_bytes) {
  TaskPayload t;
  t.callable_digest = digest_of(0x22);
  for (size_t i = 0; i < tensors; ++i) {
    const auto buffer = static_cast<uint64_t>(i + 1);
    const RemoteTensorDescWire d = i % 2 ? window_desc(1, buffer, i + 1, 256) : device_desc(0, buffer, 256 * i, 256);
    add_arg(t, d, {8, 8}, DataType::FLOAT32);
  }
  for (size_t i = 0; i < scalars; ++i) t.args.scalars.push_back(i * 0x9E3779B97F4A7C15ull);
  if (inline_bytes) {
    t.args.inline_payload.assign(inline_bytes, 0x5A);
    const auto n = static_cast<uint32_t>(inline_bytes);
    add_arg(t, inline_desc(0, n), {n}, DataType::UINT8);
  }
  return t;
}

ExportBufferResult sample_export_result() {
  ExportBufferResult e;
  e.owner_worker_id = 3;
  e.buffer_id = 7;
  e.generation = 1;
  e.offset = 64;
  e.nbytes = 4096;
  e.export_id = 11;
  e.rkey_or_token = 11;
  e.access_flags = REMOTE_BUFFER_ACCESS_READ_WRITE;
  e.transport_profile = "host_tcp";
  e.transport_descriptor = {1, 0, 0, 0, 0xAA, 0xBB};
  return e;
}

ImportBufferRequest sample_import_request() {
  ImportBufferRequest r;
  r.importer_worker_id = 5;
  r.requested_access_flags = REMOTE_BUFFER_ACCESS_READ;
  r.export_desc = sample_export_result();
  return r;
}

ImportBufferResult sample_import_result() {
  ImportBufferResult r;
  r.importer_worker_id = 5;
  r.owner_worker_id = 3;
  r.buffer_id = 7;
  r.generation = 1;
  r.import_id = 2;
  r.offset = 64;
  r.nbytes = 4096;
  r.rkey_or_token = 2;
  r.access_flags = REMOTE_BUFFER_ACCESS_READ;
  r.transport_profile = "host_tcp";
  return r;
}

ChipCallablePayload sample_chip_payload() {
  ChipCallablePayload p;
  p.descriptor = {1, 0, 0, 0, 1, 0, 0, 0, 0xDE, 0xAD};
  p.blob_location = BlobLocation::INLINE_BLOB;
  p.inline_blob = {0x7F, 'E', 'L', 'F', 2, 1, 1, 0};
  p.blob_size = p.inline_blob.size();
  p.blob_sha256 = digest_of(0x33);
  return p;
}

// --- random valid payloads ----------------------------------------------------------------------

namespace {

template <typename T>
T pick(std::mt19937_64& rng, T lo, T hi) {
  return std::uniform_int_distribution<T>(lo, hi)(rng);
}

bool coin(std::mt19937_64& rng) { return rng() & 1; }

Bytes random_bytes(std::mt19937_64& rng, size_t max_len) {
  Bytes b(pick<size_t>(rng, 0, max_len));
  for (auto& v : b) v = static_cast<uint8_t>(rng());
  return b;
}

// Mixes one- to four-byte characters so UTF-8 handling is exercised, within `max_bytes`.
std::string random_text(std::mt19937_64& rng, size_t max_bytes) {
  static const char* pieces[] = {"a", "Z", "_", "/", " ", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
  std::string s;
  const size_t target = pick<size_t>(rng, 0, max_bytes);
  while (true) {
    const std::string piece = pieces[pick<size_t>(rng, 0, 7)];
    if (s.size() + piece.size() > target) break;
    s += piece;
  }
  return s;
}

Digest random_digest(std::mt19937_64& rng) {
  Digest d;
  for (auto& v : d) v = static_cast<uint8_t>(rng());
  return d;
}

uint64_t nonzero(std::mt19937_64& rng) { return pick<uint64_t>(rng, 1, UINT64_MAX >> pick<int>(rng, 0, 60)); }
int32_t worker(std::mt19937_64& rng) { return pick<int32_t>(rng, 0, 1 << pick<int>(rng, 0, 30)); }
uint32_t access(std::mt19937_64& rng) { return pick<uint32_t>(rng, 1, 3); }

HelloPayload random_hello(std::mt19937_64& rng, const FrameHeader& h) {
  HelloPayload p;
  p.session_id = h.session_id;
  p.worker_id = h.worker_id;
  p.comm_profile = random_text(rng, 40);
  p.ready_state = coin(rng) ? ReadyState::READY : ReadyState::NOT_READY;
  p.feature_flags = rng() & FEATURES_KNOWN;
  if (p.feature_flags) {
    HelloExt ext;
    ext.max_tasks_in_flight = (p.feature_flags & FEATURE_PIPELINED_TASKS) ? pick<uint32_t>(rng, 2, 16) : 1;
    if (p.feature_flags & FEATURE_AUTH_HMAC_SHA256) {
      ext.auth_nonce = random_digest(rng);
      ext.auth_mac = random_digest(rng);
    }
    p.ext = ext;
  }
  return p;
}

TaskPayload random_task(std::mt19937_64& rng) {
  TaskPayload t;
  t.callable_digest = random_digest(rng);
  t.config.aicpu_thread_num = pick<int32_t>(rng, 0, 64);
  if (coin(rng)) {
    t.config.enable_dump_args = 1;
    t.config.enable_pmu = pick<int32_t>(rng, 0, 1);
    t.config.set_prefix(random_text(rng, 60) + "p");
  }
  const size_t tensors = pick<size_t>(rng, 0, coin(rng) ? 16 : 48);
  for (size_t i = 0; i < tensors; ++i) {
    const uint32_t ndims = pick<uint32_t>(rng, 1, 5);
    uint32_t shape[5], strides[5];
    const auto dtype = static_cast<DataType>(pick<uint32_t>(rng, 0, DATA_TYPE_NUM - 1));
    uint64_t running = 1;
    for (int d = static_cast<int>(ndims) - 1; d >= 0; --d) {
      shape[d] = pick<uint32_t>(rng, 1, 6);
      strides[d] = static_cast<uint32_t>(running) + (coin(rng) ? 0 : pick<uint32_t>(rng, 0, 3));  // padded views
      running = uint64_t{strides[d]} * shape[d];
    }
    uint64_t extent = 1;
    for (uint32_t d = 0; d < ndims; ++d) extent += uint64_t{shape[d] - 1} * strides[d];
    extent *= element_size(dtype);
    RemoteTensorDescWire desc;
    // Inline arguments only while the arena stays small, so random tasks stay quick to encode.
    const int kind = t.args.inline_payload.size() + extent <= 16384 ? pick<int>(rng, 0, 2) : pick<int>(rng, 0, 1);
    switch (kind) {
      case 0: desc = device_desc(worker(rng), nonzero(rng), pick<uint64_t>(rng, 0, 1 << 20), extent); break;
      case 1: desc = window_desc(worker(rng), nonzero(rng), nonzero(rng), extent); break;
      default:
        desc = inline_desc(t.args.inline_payload.size(), extent);
        for (uint64_t k = 0; k < extent; ++k) t.args.inline_payload.push_back(static_cast<uint8_t>(rng()));
    }
    if (desc.address_space != RemoteAddressSpace::HOST_INLINE) desc.generation = pick<uint64_t>(rng, 1, UINT32_MAX);
    t.args.tensors.push_back(remote_placeholder(desc, {shape, ndims}, dtype, {strides, ndims}));
    // The codec can carry an absent descriptor even though no endpoint sends one.
    if (pick<int>(rng, 0, 20) == 0) {
      t.args.remote_desc.push_back(std::nullopt);
    } else {
      t.args.remote_desc.push_back(desc);
    }
  }
  const size_t scalars = pick<size_t>(rng, 0, coin(rng) ? 16 : MAX_SCALARS);
  for (size_t i = 0; i < scalars; ++i) t.args.scalars.push_back(rng());
  return t;
}

ExportBufferResult random_export_result(std::mt19937_64& rng) {
  ExportBufferResult e;
  e.owner_worker_id = worker(rng);
  e.buffer_id = nonzero(rng);
  e.generation = nonzero(rng);
  e.address_space = coin(rng) ? RemoteAddressSpace::REMOTE_WINDOW : RemoteAddressSpace::UB_LDST;
  e.offset = pick<uint64_t>(rng, 0, 1 << 30);
  e.nbytes = pick<uint64_t>(rng, 1, 1 << 30);
  e.export_id = nonzero(rng);
  e.remote_addr = rng();
  e.rkey_or_token = rng();
  e.ub_ldst_va = rng();
  e.access_flags = access(rng);
  e.transport_profile = random_text(rng, MAX_TRANSPORT_PROFILE_BYTES);
  e.transport_descriptor = random_bytes(rng, 64);
  return e;
}

DigestCallableCommand random_digest_command(std::mt19937_64& rng) {
  return {coin(rng) ? RemoteRegistryTarget::REMOTE_TASK_DISPATCHER : RemoteRegistryTarget::INNER_L3_WORKER,
          static_cast<CallableKind>(pick<uint32_t>(rng, 1, 4)), random_digest(rng)};
}

RegisterCallableCommand random_register_command(std::mt19937_64& rng) {
  RegisterCallableCommand c;
  const DigestCallableCommand head = random_digest_command(rng);
  c.target = head.target;
  c.kind = head.kind;
  c.digest = head.digest;
  switch (c.kind) {
    case CallableKind::CHIP_CALLABLE: {
      ChipCallablePayload p;
      p.descriptor = random_bytes(rng, 200);
      p.blob_sha256 = random_digest(rng);
      if (coin(rng)) {
        p.blob_location = BlobLocation::INLINE_BLOB;
        p.inline_blob = random_bytes(rng, 300);
        p.inline_blob.push_back(1);
        p.blob_size = p.inline_blob.size();
      } else {
        p.blob_location = BlobLocation::STAGED_BLOB;
        p.staged_blob_token = random_bytes(rng, 40);
        p.staged_blob_token.push_back(1);
        p.blob_size = nonzero(rng);
      }
      c.payload = encode_chip_payload(p);
      break;
    }
    case CallableKind::PYTHON_SERIALIZED: c.payload = random_bytes(rng, 100); break;
    default: {
      const std::string text = "lib" + random_text(rng, 30) + ":entry";
      c.payload.assign(text.begin(), text.end());
    }
  }
  return c;
}

ControlCommand random_command(std::mt19937_64& rng, ControlName name, uint32_t version) {
  switch (name) {
    case ControlName::PREPARE_REGISTER_CALLABLE: return random_register_command(rng);
    case ControlName::UNREGISTER_CALLABLE:
    case ControlName::COMMIT_REGISTER_CALLABLE:
    case ControlName::ABORT_REGISTER_CALLABLE:
    case ControlName::PREPARE_CALLABLE: return random_digest_command(rng);
    case ControlName::ALLOC_REMOTE_BUFFER: return AllocRequest{nonzero(rng)};
    case ControlName::FREE_REMOTE_BUFFER: return BufferRef{worker(rng), nonzero(rng), nonzero(rng)};
    case ControlName::COPY_TO_REMOTE:
    case ControlName::COPY_FROM_REMOTE: {
      if (version == 2) {
        return CopyRmaRequest{worker(rng), nonzero(rng), nonzero(rng), pick<uint64_t>(rng, 0, 1 << 20),
                              pick<uint64_t>(rng, 1, 1 << 20), rng(), random_bytes(rng, 64)};
      }
      CopyRequest c{worker(rng), nonzero(rng), nonzero(rng), pick<uint64_t>(rng, 0, 1 << 20), 0, {}};
      if (name == ControlName::COPY_TO_REMOTE) {
        c.data = random_bytes(rng, 200);
        c.size = c.data.size();
      } else {
        c.size = pick<uint64_t>(rng, 0, 1 << 20);
      }
      return c;
    }
    case ControlName::EXPORT_BUFFER:
      return ExportBufferRequest{worker(rng), nonzero(rng), nonzero(rng), pick<uint64_t>(rng, 0, 1 << 20),
                                 pick<uint64_t>(rng, 1, 1 << 20), access(rng), random_text(rng, 20)};
    case ControlName::IMPORT_BUFFER: {
      ImportBufferRequest r;
      r.importer_worker_id = worker(rng);
      r.export_desc = random_export_result(rng);
      r.requested_access_flags = r.export_desc.access_flags & access(rng);
      if (!r.requested_access_flags) r.requested_access_flags = r.export_desc.access_flags;
      return r;
    }
    case ControlName::RELEASE_IMPORT:
      return ReleaseImportRequest{worker(rng), worker(rng), nonzero(rng), nonzero(rng), nonzero(rng)};
    default: throw std::logic_error("no command layout");
  }
}

ControlResult random_result(std::mt19937_64& rng, ControlName name, uint32_t version) {
  switch (name) {
    case ControlName::PREPARE_REGISTER_CALLABLE:
      return coin(rng) ? PrepareRegisterResult{random_digest(rng)} : PrepareRegisterResult{};
    case ControlName::ALLOC_REMOTE_BUFFER:
      return AllocResult{worker(rng), nonzero(rng), nonzero(rng), RemoteAddressSpace::REMOTE_DEVICE,
                         nonzero(rng), 0, rng(), 0};
    case ControlName::COPY_FROM_REMOTE:
      if (version == 1) return CopyFromResult{random_bytes(rng, 300)};
      return EmptyResult{};
    case ControlName::EXPORT_BUFFER: return random_export_result(rng);
    case ControlName::IMPORT_BUFFER: {
      const ExportBufferResult e = random_export_result(rng);
      ImportBufferResult r;
      r.importer_worker_id = worker(rng);
      r.owner_worker_id = e.owner_worker_id;
      r.buffer_id = e.buffer_id;
      r.generation = e.generation;
      r.import_id = nonzero(rng);
      r.address_space = e.address_space;
      r.offset = e.offset;
      r.nbytes = e.nbytes;
      r.remote_addr = rng();
      r.rkey_or_token = r.import_id;
      r.access_flags = e.access_flags;
      r.transport_profile = e.transport_profile;
      r.import_descriptor = random_bytes(rng, 32);
      return r;
    }
    default: return EmptyResult{};
  }
}

std::pair<ControlName, uint32_t> random_control(std::mt19937_64& rng) {
  const auto name = static_cast<ControlName>(pick<uint32_t>(rng, 1, 12));
  const bool copy = name == ControlName::COPY_TO_REMOTE || name == ControlName::COPY_FROM_REMOTE;
  return {name, copy && coin(rng) ? 2u : 1u};
}

}  // namespace

TypedFrame random_frame(std::mt19937_64& rng, FrameType type) {
  TypedFrame f;
  f.header.type = type;
  f.header.session_id = pick<uint64_t>(rng, 1, INT64_MAX);
  f.header.worker_id = worker(rng);
  f.header.sequence = type == FrameType::HELLO ? 0 : rng() >> pick<int>(rng, 0, 63);
  f.header.flags = pick<uint32_t>(rng, 0, FRAME_FLAGS_KNOWN);
  switch (type) {
    case FrameType::HELLO: f.payload = random_hello(rng, f.header); break;
    case FrameType::TASK: f.payload = random_task(rng); break;
    case FrameType::CONTROL: {
      const auto [name, version] = random_control(rng);
      f.payload = TypedControl{name, version, random_command(rng, name, version)};
      break;
    }
    case FrameType::CONTROL_REPLY: {
      const auto [name, version] = random_control(rng);
      TypedControlReply r{f.header.sequence, name, version, 0, {}, {}};
      if (coin(rng)) {
        r.result = random_result(rng, name, version);
      } else {
        r.error_code = pick<int32_t>(rng, 1, 5);
        r.error_message = random_text(rng, 200);
        r.result = random_bytes(rng, 8);
      }
      f.payload = r;
      break;
    }
    case FrameType::COMPLETION: {
      const int32_t code = pick<int32_t>(rng, 0, 5);
      f.payload = CompletionPayload{f.header.sequence, code, code ? random_text(rng, 300) : std::string()};
      break;
    }
    case FrameType::HEALTH:
      if (pick<int>(rng, 0, 3) == 0) {
        f.header.sequence = 0;
        f.payload = HealthProof{random_digest(rng)};
      } else {
        f.payload = HeaderOnly{};
      }
      break;
    case FrameType::SHUTDOWN: f.payload = HeaderOnly{}; break;
  }
  return f;
}

std::vector<std::pair<std::string, TypedFrame>> representative_frames() {
  std::vector<std::pair<std::string, TypedFrame>> out;
  const auto frame = [](FrameType type, uint64_t sequence, TypedPayload payload) {
    TypedFrame f;
    f.header.type = type;
    f.header.session_id = 0x0123456789ABCDEFull;
    f.header.worker_id = 3;
    f.header.sequence = sequence;
    f.payload = std::move(payload);
    return f;
  };
  out.emplace_back("hello", frame(FrameType::HELLO, 0, sample_hello(false)));
  out.emplace_back("hello_ext", frame(FrameType::HELLO, 0, sample_hello(true)));
  out.emplace_back("task", frame(FrameType::TASK, 1, sample_task()));
  out.emplace_back("completion_ok", frame(FrameType::COMPLETION, 1, CompletionPayload{1, 0, ""}));
  out.emplace_back("completion_failed",
                   frame(FrameType::COMPLETION, 2, CompletionPayload{2, 1, "[host=h worker=3] kernel returned 7 \xE2\x82\xAC"}));
  out.emplace_back("health", frame(FrameType::HEALTH, 5, HeaderOnly{}));
  HealthProof proof;
  proof.bytes = digest_of(0x90);
  out.emplace_back("health_proof", frame(FrameType::HEALTH, 0, proof));
  out.emplace_back("shutdown", frame(FrameType::SHUTDOWN, 9, HeaderOnly{}));

  // One CONTROL and one CONTROL_REPLY per implemented control layout.
  uint64_t seq = 10;
  const auto control = [&](const std::string& name, ControlName n, uint32_t v, ControlCommand cmd, ControlResult res) {
    out.emplace_back("control_" + name, frame(FrameType::CONTROL, seq, TypedControl{n, v, std::move(cmd)}));
    out.emplace_back("reply_" + name,
                     frame(FrameType::CONTROL_REPLY, seq, TypedControlReply{seq, n, v, 0, "", std::move(res)}));
    ++seq;
  };
  RegisterCallableCommand native{RemoteRegistryTarget::REMOTE_TASK_DISPATCHER, CallableKind::NATIVE_IMPORT,
                                 digest_of(1), 1, {}};
  const std::string text = "demo_kernels:vector_add";
  native.payload.assign(text.begin(), text.end());
  control("prepare_register_native", ControlName::PREPARE_REGISTER_CALLABLE, 1, native,
          PrepareRegisterResult{digest_of(0x44)});
  RegisterCallableCommand chip{RemoteRegistryTarget::INNER_L3_WORKER, CallableKind::CHIP_CALLABLE, digest_of(2), 1,
                               encode_chip_payload(sample_chip_payload())};
  control("prepare_register_chip", ControlName::PREPARE_REGISTER_CALLABLE, 1, chip, PrepareRegisterResult{});
  const DigestCallableCommand digest_cmd{RemoteRegistryTarget::REMOTE_TASK_DISPATCHER, CallableKind::NATIVE_IMPORT,
                                         digest_of(1)};
  control("commit_register", ControlName::COMMIT_REGISTER_CALLABLE, 1, digest_cmd, EmptyResult{});
  control("abort_register", ControlName::ABORT_REGISTER_CALLABLE, 1, digest_cmd, EmptyResult{});
  control("unregister", ControlName::UNREGISTER_CALLABLE, 1, digest_cmd, EmptyResult{});
  control("prepare_callable", ControlName::PREPARE_CALLABLE, 1, digest_cmd, EmptyResult{});
  control("alloc", ControlName::ALLOC_REMOTE_BUFFER, 1, AllocRequest{4096},
          AllocResult{3, 7, 1, RemoteAddressSpace::REMOTE_DEVICE, 4096, 0, 0, 0});
  control("free", ControlName::FREE_REMOTE_BUFFER, 1, BufferRef{3, 7, 1}, EmptyResult{});
  control("copy_to", ControlName::COPY_TO_REMOTE, 1, CopyRequest{3, 7, 1, 16, 4, {1, 2, 3, 4}}, EmptyResult{});
  control("copy_from", ControlName::COPY_FROM_REMOTE, 1, CopyRequest{3, 7, 1, 16, 4, {}},
          CopyFromResult{{1, 2, 3, 4}});
  control("copy_to_rma", ControlName::COPY_TO_REMOTE, 2, CopyRmaRequest{3, 7, 1, 0, 4096, 0x7F0000001000, {9, 8, 7}},
          EmptyResult{});
  control("copy_from_rma", ControlName::COPY_FROM_REMOTE, 2,
          CopyRmaRequest{3, 7, 1, 0, 4096, 0x7F0000002000, {6, 5}}, EmptyResult{});
  control("export", ControlName::EXPORT_BUFFER, 1,
          ExportBufferRequest{3, 7, 1, 64, 4096, REMOTE_BUFFER_ACCESS_READ_WRITE, "host_tcp"}, sample_export_result());
  control("import", ControlName::IMPORT_BUFFER, 1, sample_import_request(), sample_import_result());
  control("release_import", ControlName::RELEASE_IMPORT, 1, ReleaseImportRequest{5, 3, 7, 1, 2}, EmptyResult{});
  TypedControlReply failed{seq, ControlName::ALLOC_REMOTE_BUFFER, 1, static_cast<int32_t>(WireStatus::REJECTED),
                           "[host=h worker=3 control=ALLOC_REMOTE_BUFFER seq=30] nbytes is 0", Bytes{}};
  out.emplace_back("reply_failed", frame(FrameType::CONTROL_REPLY, seq, failed));
  return out;
}

}  // namespace echelon::wire::test
