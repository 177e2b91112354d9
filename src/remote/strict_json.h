// Strict JSON reading for the bootstrap documents (runtime.md RT-909): duplicate keys, unknown
// keys, null and wrong types are errors that name the JSON path of the offending key or value.
// Integers are taken only from JSON numbers without fraction or exponent, exactly (nlohmann keeps
// those as 64-bit integers, never as double), and range-checked here.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "echelon/errors.h"
#include "nlohmann/json.hpp"

namespace echelon::remote {

// A bootstrap document broke its schema. `path()` names the key or value ("manifest.num_chips",
// "manifest.inner_l3_worker[2].hashid"); what() is "<path>: <reason>".
class SchemaError : public ValidationError {
 public:
  SchemaError(std::string path, std::string reason);
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string path_;
  std::string reason_;
};

// Parses one JSON text whose root must be an object. `root` names the document in paths.
// Refuses texts above `max_bytes` before parsing, syntax errors (incl. invalid UTF-8) and
// duplicate keys anywhere in the tree (nlohmann would silently keep the last one).
nlohmann::json parse_strict_object(std::string_view text, std::string_view root, size_t max_bytes);

// Reads the keys of one JSON object, each at most once, and finally rejects every key that no
// accessor asked for. Accessors throw SchemaError naming "<path>.<key>".
class ObjectReader {
 public:
  ObjectReader(const nlohmann::json& object, std::string path);  // keeps a reference to `object`
  ObjectReader(nlohmann::json&&, std::string) = delete;

  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const { return path_ + "." + std::string(key); }
  bool has(std::string_view key) const;

  uint64_t integer(std::string_view key, uint64_t min, uint64_t max);
  std::optional<uint64_t> optional_integer(std::string_view key, uint64_t min, uint64_t max);
  // A finite number of seconds in (0, 86400].
  double duration(std::string_view key);
  std::optional<double> optional_duration(std::string_view key);
  std::string string(std::string_view key);
  std::optional<std::string> optional_string(std::string_view key);
  bool boolean(std::string_view key);
  // A JSON array of at most `max_entries` elements.
  const nlohmann::json* optional_array(std::string_view key, size_t max_entries);

  // Throws for the first key (in key order) that no accessor consumed.
  void reject_unknown_keys() const;

 private:
  const nlohmann::json& take(std::string_view key);
  const nlohmann::json& object_;
  std::string path_;
  std::set<std::string, std::less<>> consumed_;
};

// Exact-integer and duration checks, shared with values that are not object members.
uint64_t read_integer(const nlohmann::json& value, const std::string& path, uint64_t min, uint64_t max);
double read_duration(const nlohmann::json& value, const std::string& path);
std::string read_string(const nlohmann::json& value, const std::string& path);

// True for a non-empty, even-length string of lowercase hex digits.
bool is_lower_hex(std::string_view text);
// Bytes as lowercase hex (UCX worker addresses in the manifest and reply), and back; the decoder
// requires is_lower_hex() and throws SchemaError at `path` otherwise.
std::string to_lower_hex(std::span<const uint8_t> bytes);
std::vector<uint8_t> from_lower_hex(std::string_view text, const std::string& path);

inline constexpr double MAX_DURATION_S = 86400.0;

}  // namespace echelon::remote
