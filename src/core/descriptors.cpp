// Canonical descriptor builders and the user-facing import-target parsers (callables.md 2).
#include <algorithm>

#include "echelon/callable.h"
#include "echelon/errors.h"
#include "fmt/format.h"

namespace echelon {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return is_alpha(c) || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

std::string_view strip_ascii_ws(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

bool is_identifier(std::string_view s) {
  return !s.empty() && is_ident_start(s[0]) && std::all_of(s.begin() + 1, s.end(), is_ident_char);
}

// Splits `text` at its single ':' after the common length/colon checks.
std::pair<std::string_view, std::string_view> split_target(std::string_view raw, const char* form) {
  if (raw.size() > MAX_STRING_BYTES)
    throw ValidationError(fmt::format("{}: text is {} bytes, at most {} allowed", form, raw.size(), MAX_STRING_BYTES));
  std::string_view text = strip_ascii_ws(raw);
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos)
    throw ValidationError(fmt::format("{}: '{}' has no ':' separator", form, text));
  if (text.find(':', colon + 1) != std::string_view::npos)
    throw ValidationError(fmt::format("{}: '{}' has more than one ':'", form, text));
  std::string_view left = text.substr(0, colon), right = text.substr(colon + 1);
  if (left.empty()) throw ValidationError(fmt::format("{}: '{}' has an empty part before ':'", form, text));
  if (right.empty()) throw ValidationError(fmt::format("{}: '{}' has an empty part after ':'", form, text));
  return {left, right};
}

}  // namespace

DescriptorWriter& DescriptorWriter::u8(uint8_t v) {
  out_.push_back(v);
  return *this;
}

DescriptorWriter& DescriptorWriter::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}

DescriptorWriter& DescriptorWriter::str(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  out_.insert(out_.end(), s.begin(), s.end());
  return *this;
}

DescriptorWriter& DescriptorWriter::bytes(std::span<const uint8_t> b) {
  u32(static_cast<uint32_t>(b.size()));
  out_.insert(out_.end(), b.begin(), b.end());
  return *this;
}

NativeImportTarget NativeImportTarget::parse(std::string_view raw) {
  constexpr const char* form = "NATIVE_IMPORT target 'library:symbol'";
  auto [library, symbol] = split_target(raw, form);
  if (library.size() > 128)
    throw ValidationError(fmt::format("{}: library name is {} bytes, at most 128", form, library.size()));
  if (library.find('/') != std::string_view::npos || library.find("..") != std::string_view::npos)
    throw ValidationError(fmt::format("{}: library '{}' must be a plugin name, not a path ('/' and '..' refused)", form, library));
  const char first = library[0];
  if (!(is_alpha(first) || is_digit(first) || first == '_'))
    throw ValidationError(fmt::format("{}: library '{}' must start with a letter, digit or '_'", form, library));
  for (char c : library)
    if (!(is_ident_char(c) || c == '.' || c == '+' || c == '-'))
      throw ValidationError(fmt::format("{}: library '{}' has a character outside [A-Za-z0-9_.+-]", form, library));
  if (symbol.size() > 256)
    throw ValidationError(fmt::format("{}: symbol is {} bytes, at most 256", form, symbol.size()));
  if (!is_identifier(symbol))
    throw ValidationError(fmt::format("{}: symbol '{}' is not a C identifier", form, symbol));
  return {std::string(library), std::string(symbol)};
}

PythonImportTarget PythonImportTarget::parse(std::string_view raw) {
  constexpr const char* form = "PYTHON_IMPORT target 'module:qualname'";
  auto [module, qualname] = split_target(raw, form);
  if (module.front() == '.')
    throw ValidationError(fmt::format("{}: module '{}' is relative (leading '.')", form, module));
  auto check_dotted = [&](std::string_view part, const char* which) {
    size_t start = 0;
    while (true) {
      const size_t dot = part.find('.', start);
      std::string_view comp = part.substr(start, dot == std::string_view::npos ? part.npos : dot - start);
      if (comp == "<locals>")
        throw ValidationError(fmt::format("{}: {} '{}' has a '<locals>' component", form, which, part));
      if (!is_identifier(comp))
        throw ValidationError(fmt::format("{}: {} '{}' component '{}' is not an identifier", form, which, part, comp));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  };
  check_dotted(module, "module");
  check_dotted(qualname, "qualname");
  return {std::string(module), std::string(qualname)};
}

void validate_inproc_name(std::string_view name) {
  if (name.empty() || name.size() > 256)
    throw ValidationError(fmt::format("NATIVE_INPROC name is {} bytes, must be 1..256", name.size()));
  if (!is_ident_start(name[0]) ||
      !std::all_of(name.begin() + 1, name.end(), [](char c) { return is_ident_char(c) || c == '.'; }))
    throw ValidationError(fmt::format("NATIVE_INPROC name '{}' must match [A-Za-z_][A-Za-z0-9_.]*", name));
}

static DescriptorWriter descriptor_head(CallableKind kind) {
  DescriptorWriter w;
  w.u32(DESCRIPTOR_SCHEMA_VERSION).u32(static_cast<uint32_t>(kind));
  return w;
}

std::vector<uint8_t> native_import_descriptor(const NativeImportTarget& t) {
  return descriptor_head(CallableKind::NATIVE_IMPORT).str(t.library).str(t.symbol).take();
}

std::vector<uint8_t> native_inproc_descriptor(std::string_view name) {
  validate_inproc_name(name);
  return descriptor_head(CallableKind::NATIVE_INPROC).str(name).take();
}

std::vector<uint8_t> python_import_descriptor(const PythonImportTarget& t) {
  return descriptor_head(CallableKind::PYTHON_IMPORT).str(t.module).str(t.qualname).take();
}

std::vector<uint8_t> python_serialized_descriptor(uint32_t payload_format_version, uint32_t serializer_id,
                                                  const Digest& payload_sha256) {
  return descriptor_head(CallableKind::PYTHON_SERIALIZED)
      .u32(payload_format_version)
      .u32(serializer_id)
      .bytes(payload_sha256)
      .take();
}

Digest chip_signature_hash(std::span<const ArgDirection> directions) {
  DescriptorWriter w;
  w.u32(1).u32(static_cast<uint32_t>(directions.size()));
  for (ArgDirection d : directions) w.u32(static_cast<uint32_t>(d));
  return sha256(w.view());
}

std::vector<uint8_t> chip_callable_descriptor(std::string_view target_arch, std::string_view platform,
                                              std::string_view runtime, const Digest& blob_sha256,
                                              const Digest& signature_schema_hash) {
  return descriptor_head(CallableKind::CHIP_CALLABLE)
      .str(target_arch)
      .str(platform)
      .str(runtime)
      .bytes(blob_sha256)
      .bytes(signature_schema_hash)
      .take();
}

}  // namespace echelon
