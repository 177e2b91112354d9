#include "remote/strict_json.h"

#include <cmath>
#include <vector>

#include "fmt/format.h"

namespace echelon::remote {
namespace {

using json = nlohmann::json;

const char* type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number with fraction or exponent";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

// Tracks where the parser is, so that a duplicate key can be reported by its full path.
struct PathTracker {
  struct Frame {
    bool array = false;
    size_t next_index = 0;
    std::string segment;  // of the child being parsed: ".key" or "[i]"
    std::set<std::string, std::less<>> keys;
  };
  std::string root;
  std::vector<Frame> frames;

  std::string path(std::string_view last = {}) const {
    std::string p = root;
    for (const Frame& f : frames) p += f.segment;
    if (!last.empty()) p += last;
    return p;
  }
  void child_started() {
    if (!frames.empty() && frames.back().array) frames.back().segment = fmt::format("[{}]", frames.back().next_index++);
  }
};

}  // namespace

SchemaError::SchemaError(std::string path, std::string reason)
    : ValidationError(fmt::format("{}: {}", path, reason)), path_(std::move(path)), reason_(std::move(reason)) {}

json parse_strict_object(std::string_view text, std::string_view root, size_t max_bytes) {
  if (text.size() > max_bytes)
    throw SchemaError(std::string(root), fmt::format("is {} bytes, at most {}", text.size(), max_bytes));
  PathTracker tracker{std::string(root), {}};
  auto on_event = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        tracker.child_started();
        tracker.frames.push_back({event == json::parse_event_t::array_start, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        std::string key = parsed.get<std::string>();
        auto& frame = tracker.frames.back();
        frame.segment = "." + key;
        if (!frame.keys.insert(key).second) throw SchemaError(tracker.path(), "duplicate key");
        break;
      }
      case json::parse_event_t::value:
        tracker.child_started();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        tracker.frames.pop_back();
        break;
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), on_event);
  } catch (const json::parse_error& e) {
    throw SchemaError(std::string(root), fmt::format("not valid JSON: {}", e.what()));
  } catch (const json::out_of_range& e) {  // a number beyond double ("1e999")
    throw SchemaError(std::string(root), fmt::format("number out of range: {}", e.what()));
  }
  if (!doc.is_object()) throw SchemaError(std::string(root), fmt::format("must be a JSON object, got {}", type_name(doc)));
  return doc;
}

uint64_t read_integer(const json& v, const std::string& path, uint64_t min, uint64_t max) {
  if (!v.is_number_integer())
    throw SchemaError(path, fmt::format("must be an integer (no fraction or exponent) in {}..{}, got {} {}", min, max,
                                        type_name(v), v.dump()));
  if (v.is_number_unsigned()) {
    const uint64_t x = v.get<uint64_t>();
    if (x < min) throw SchemaError(path, fmt::format("must be >= {}, got {}", min, x));
    if (x > max) throw SchemaError(path, fmt::format("must be <= {}, got {}", max, x));
    return x;
  }
  const int64_t x = v.get<int64_t>();
  if (x < 0 || static_cast<uint64_t>(x) < min) throw SchemaError(path, fmt::format("must be >= {}, got {}", min, x));
  if (static_cast<uint64_t>(x) > max) throw SchemaError(path, fmt::format("must be <= {}, got {}", max, x));
  return static_cast<uint64_t>(x);
}

double read_duration(const json& v, const std::string& path) {
  if (!v.is_number())
    throw SchemaError(path, fmt::format("must be a number of seconds, got {} {}", type_name(v), v.dump()));
  const double s = v.get<double>();
  if (!std::isfinite(s)) throw SchemaError(path, fmt::format("must be finite, got {}", v.dump()));
  if (!(s > 0)) throw SchemaError(path, fmt::format("must be > 0, got {}", v.dump()));
  if (s > MAX_DURATION_S) throw SchemaError(path, fmt::format("must be <= {}, got {}", MAX_DURATION_S, v.dump()));
  return s;
}

std::string read_string(const json& v, const std::string& path) {
  if (!v.is_string()) throw SchemaError(path, fmt::format("must be a string, got {}", type_name(v)));
  return v.get<std::string>();
}

bool is_lower_hex(std::string_view text) {
  if (text.empty() || text.size() % 2 != 0) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string to_lower_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    text.push_back(kDigits[b >> 4]);
    text.push_back(kDigits[b & 0xF]);
  }
  return text;
}

std::vector<uint8_t> from_lower_hex(std::string_view text, const std::string& path) {
  if (!is_lower_hex(text)) throw SchemaError(path, "must be lowercase hex of even length");
  auto digit = [](char c) { return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  std::vector<uint8_t> bytes(text.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(digit(text[2 * i]) << 4 | digit(text[2 * i + 1]));
  return bytes;
}

ObjectReader::ObjectReader(const json& object, std::string path) : object_(object), path_(std::move(path)) {
  if (!object_.is_object()) throw SchemaError(path_, fmt::format("must be a JSON object, got {}", type_name(object_)));
}

bool ObjectReader::has(std::string_view key) const { return object_.contains(key); }

const json& ObjectReader::take(std::string_view key) {
  consumed_.emplace(key);
  auto it = object_.find(key);
  if (it == object_.end()) throw SchemaError(path_of(key), "required key is missing");
  return *it;
}

uint64_t ObjectReader::integer(std::string_view key, uint64_t min, uint64_t max) {
  return read_integer(take(key), path_of(key), min, max);
}

std::optional<uint64_t> ObjectReader::optional_integer(std::string_view key, uint64_t min, uint64_t max) {
  consumed_.emplace(key);
  if (!has(key)) return std::nullopt;
  return integer(key, min, max);
}

double ObjectReader::duration(std::string_view key) { return read_duration(take(key), path_of(key)); }

std::optional<double> ObjectReader::optional_duration(std::string_view key) {
  consumed_.emplace(key);
  if (!has(key)) return std::nullopt;
  return duration(key);
}

std::string ObjectReader::string(std::string_view key) { return read_string(take(key), path_of(key)); }

std::optional<std::string> ObjectReader::optional_string(std::string_view key) {
  consumed_.emplace(key);
  if (!has(key)) return std::nullopt;
  return string(key);
}

bool ObjectReader::boolean(std::string_view key) {
  const json& v = take(key);
  if (!v.is_boolean()) throw SchemaError(path_of(key), fmt::format("must be a boolean, got {}", type_name(v)));
  return v.get<bool>();
}

const json* ObjectReader::optional_array(std::string_view key, size_t max_entries) {
  consumed_.emplace(key);
  if (!has(key)) return nullptr;
  const json& v = take(key);
  if (!v.is_array()) throw SchemaError(path_of(key), fmt::format("must be an array, got {}", type_name(v)));
  if (v.size() > max_entries)
    throw SchemaError(path_of(key), fmt::format("has {} entries, at most {}", v.size(), max_entries));
  return &v;
}

void ObjectReader::reject_unknown_keys() const {
  for (auto it = object_.begin(); it != object_.end(); ++it)
    if (!consumed_.contains(it.key())) throw SchemaError(path_of(it.key()), "unknown key");
}

}  // namespace echelon::remote
