#include "wire/control_catalogue.h"

#include "fmt/format.h"
#include "wire/wire_error.h"

namespace echelon::wire {
namespace {

CopyDirection direction_of(ControlName n) {
  return n == ControlName::COPY_TO_REMOTE ? CopyDirection::TO_REMOTE : CopyDirection::FROM_REMOTE;
}

template <typename T, typename Variant>
const T& expect_alternative(const Variant& v, ControlName name, const char* field) {
  if (const T* p = std::get_if<T>(&v)) return *p;
  fail(WireErrc::INVALID_VALUE, field, fmt::format("value does not have the layout of {}", to_string(name)));
}

void require_empty(std::span<const uint8_t> bytes, ControlName name) {
  if (!bytes.empty())
    fail(WireErrc::WRONG_SIZE, "ControlReplyPayload.result_bytes",
         fmt::format("{} has an empty result but {} bytes arrived", to_string(name), bytes.size()));
}

}  // namespace

void require_implemented(ControlName name, uint32_t version) {
  if (!is_known(name))
    fail(WireErrc::UNKNOWN_ENUM, "ControlPayload.control_name",
         fmt::format("value {} is not a known value", static_cast<uint32_t>(name)));
  if (family_of(name) == ControlFamily::DOMAIN)
    fail(WireErrc::UNSUPPORTED, "ControlPayload.control_name",
         fmt::format("{}: collective domains are not supported by this runner", to_string(name)));
  if (!is_implemented(name, version))
    fail(WireErrc::UNSUPPORTED, "ControlPayload.control_version",
         fmt::format("{} version {} is not implemented", to_string(name), version));
}

ControlCommand decode_control_command(ControlName name, uint32_t version, std::span<const uint8_t> bytes) {
  require_implemented(name, version);
  switch (name) {
    case ControlName::PREPARE_REGISTER_CALLABLE: return decode_register_command(bytes);
    case ControlName::UNREGISTER_CALLABLE:
    case ControlName::COMMIT_REGISTER_CALLABLE:
    case ControlName::ABORT_REGISTER_CALLABLE:
    case ControlName::PREPARE_CALLABLE: return decode_digest_command(bytes);
    case ControlName::ALLOC_REMOTE_BUFFER: return decode_alloc_request(bytes);
    case ControlName::FREE_REMOTE_BUFFER: return decode_buffer_ref(bytes);
    case ControlName::COPY_TO_REMOTE:
    case ControlName::COPY_FROM_REMOTE:
      if (version == 2) return decode_copy_rma_request(bytes);
      return decode_copy_request(bytes, direction_of(name));
    case ControlName::EXPORT_BUFFER: return decode_export_request(bytes);
    case ControlName::IMPORT_BUFFER: return decode_import_request(bytes);
    case ControlName::RELEASE_IMPORT: return decode_release_import(bytes);
    default: break;
  }
  fail(WireErrc::UNSUPPORTED, "ControlPayload.control_name", fmt::format("{} has no command layout", to_string(name)));
}

std::vector<uint8_t> encode_control_command(ControlName name, uint32_t version, const ControlCommand& cmd) {
  require_implemented(name, version);
  constexpr const char* kField = "ControlPayload.command_bytes";
  switch (name) {
    case ControlName::PREPARE_REGISTER_CALLABLE:
      return encode_register_command(expect_alternative<RegisterCallableCommand>(cmd, name, kField));
    case ControlName::UNREGISTER_CALLABLE:
    case ControlName::COMMIT_REGISTER_CALLABLE:
    case ControlName::ABORT_REGISTER_CALLABLE:
    case ControlName::PREPARE_CALLABLE:
      return encode_digest_command(expect_alternative<DigestCallableCommand>(cmd, name, kField));
    case ControlName::ALLOC_REMOTE_BUFFER: return encode_alloc_request(expect_alternative<AllocRequest>(cmd, name, kField));
    case ControlName::FREE_REMOTE_BUFFER: return encode_buffer_ref(expect_alternative<BufferRef>(cmd, name, kField));
    case ControlName::COPY_TO_REMOTE:
    case ControlName::COPY_FROM_REMOTE:
      if (version == 2) return encode_copy_rma_request(expect_alternative<CopyRmaRequest>(cmd, name, kField));
      return encode_copy_request(expect_alternative<CopyRequest>(cmd, name, kField), direction_of(name));
    case ControlName::EXPORT_BUFFER:
      return encode_export_request(expect_alternative<ExportBufferRequest>(cmd, name, kField));
    case ControlName::IMPORT_BUFFER:
      return encode_import_request(expect_alternative<ImportBufferRequest>(cmd, name, kField));
    case ControlName::RELEASE_IMPORT:
      return encode_release_import(expect_alternative<ReleaseImportRequest>(cmd, name, kField));
    default: break;
  }
  fail(WireErrc::UNSUPPORTED, "ControlPayload.control_name", fmt::format("{} has no command layout", to_string(name)));
}

ControlResult decode_control_result(ControlName name, uint32_t version, std::span<const uint8_t> bytes) {
  require_implemented(name, version);
  switch (name) {
    case ControlName::PREPARE_REGISTER_CALLABLE: return decode_prepare_register_result(bytes);
    case ControlName::ALLOC_REMOTE_BUFFER: return decode_alloc_result(bytes);
    case ControlName::COPY_FROM_REMOTE:
      if (version == 1) return CopyFromResult{{bytes.begin(), bytes.end()}};
      break;
    case ControlName::EXPORT_BUFFER: return decode_export_result(bytes);
    case ControlName::IMPORT_BUFFER: return decode_import_result(bytes);
    default: break;
  }
  require_empty(bytes, name);
  return EmptyResult{};
}

std::vector<uint8_t> encode_control_result(ControlName name, uint32_t version, const ControlResult& result) {
  require_implemented(name, version);
  constexpr const char* kField = "ControlReplyPayload.result_bytes";
  switch (name) {
    case ControlName::PREPARE_REGISTER_CALLABLE:
      return encode_prepare_register_result(expect_alternative<PrepareRegisterResult>(result, name, kField));
    case ControlName::ALLOC_REMOTE_BUFFER: return encode_alloc_result(expect_alternative<AllocResult>(result, name, kField));
    case ControlName::COPY_FROM_REMOTE:
      if (version == 1) return expect_alternative<CopyFromResult>(result, name, kField).data;
      break;
    case ControlName::EXPORT_BUFFER:
      return encode_export_result(expect_alternative<ExportBufferResult>(result, name, kField));
    case ControlName::IMPORT_BUFFER:
      return encode_import_result(expect_alternative<ImportBufferResult>(result, name, kField));
    default: break;
  }
  expect_alternative<EmptyResult>(result, name, kField);
  return {};
}

}  // namespace echelon::wire
