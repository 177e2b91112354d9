/* echelon native plugin ABI (callables.md 2.6). A plugin is a shared object named lib<name>.so,
 * found only inside configured plugin directories, exporting:
 *   - echelon_plugin_abi_version (once per library: ECHELON_PLUGIN()),
 *   - one C entry per callable (ECHELON_ORCH_ENTRY / ECHELON_SUB_ENTRY), each with a companion
 *     `<symbol>__echelon_entry_kind` saying which shape it has (dlsym cannot see types).
 * No exception crosses the C boundary: the generated entry catches it and reports its text.
 * Plugins are built against the same echelon headers and C++ standard library as their host. */
#pragma once

#include <cstdint>
#include <cstring>
#include <exception>

#include "echelon/call_config.h"
#include "echelon/native_callable.h"
#include "echelon/task_args.h"

#define ECHELON_PLUGIN_ABI_VERSION 1u
#define ECHELON_ENTRY_KIND_ORCH 1u
#define ECHELON_ENTRY_KIND_SUB 2u

extern "C" {
struct echelon_error_buf {
  char* data;
  uint32_t capacity;  // 4096 in echelon hosts
  uint32_t length;
};
typedef int32_t echelon_orch_entry_t(echelon::Orchestrator* orch, const echelon::TaskArgs* args,
                                     const echelon::CallConfig* config, echelon_error_buf* err);
typedef int32_t echelon_sub_entry_t(const echelon::SubCall* call, echelon_error_buf* err);
}

namespace echelon::plugin_detail {

// Copies `text` into `err`, cut on a UTF-8 boundary (header-only: plugins need no echelon library).
inline void set_error(echelon_error_buf* err, const char* text) {
  if (!err || !err->data || err->capacity == 0) return;
  size_t n = std::strlen(text);
  if (n > err->capacity - 1) {
    n = err->capacity - 1;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(err->data, text, n);
  err->data[n] = '\0';
  err->length = static_cast<uint32_t>(n);
}

template <typename Fn, typename... Args>
int32_t guarded(echelon_error_buf* err, Fn&& fn, Args&&... args) {
  try {
    fn(static_cast<Args&&>(args)...);
    return 0;
  } catch (const std::exception& e) {
    set_error(err, e.what());
  } catch (...) {
    set_error(err, "unknown exception");
  }
  return 1;
}

}  // namespace echelon::plugin_detail

#define ECHELON_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

#define ECHELON_PLUGIN() ECHELON_PLUGIN_EXPORT const uint32_t echelon_plugin_abi_version = ECHELON_PLUGIN_ABI_VERSION

// fn: void(echelon::Orchestrator&, const echelon::TaskArgs&, const echelon::CallConfig&)
#define ECHELON_ORCH_ENTRY(symbol, fn)                                                                   \
  ECHELON_PLUGIN_EXPORT const uint32_t symbol##__echelon_entry_kind = ECHELON_ENTRY_KIND_ORCH;          \
  ECHELON_PLUGIN_EXPORT int32_t symbol(echelon::Orchestrator* orch, const echelon::TaskArgs* args,      \
                                       const echelon::CallConfig* config, echelon_error_buf* err) {    \
    return ::echelon::plugin_detail::guarded(                                                          \
        err, [&] { fn(*orch, *args, *config); });                                                      \
  }

// fn: void(const echelon::SubCall&)
#define ECHELON_SUB_ENTRY(symbol, fn)                                                                 \
  ECHELON_PLUGIN_EXPORT const uint32_t symbol##__echelon_entry_kind = ECHELON_ENTRY_KIND_SUB;        \
  ECHELON_PLUGIN_EXPORT int32_t symbol(const echelon::SubCall* call, echelon_error_buf* err) {       \
    return ::echelon::plugin_detail::guarded(err, [&] { fn(*call); });                               \
  }
