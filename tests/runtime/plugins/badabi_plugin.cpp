// Exports a future ABI version: hosts must refuse it.
#include "echelon/plugin.h"

ECHELON_PLUGIN_EXPORT const uint32_t echelon_plugin_abi_version = 99;
ECHELON_PLUGIN_EXPORT int32_t test_sub(const echelon::SubCall*, echelon_error_buf*) { return 0; }
ECHELON_PLUGIN_EXPORT const uint32_t test_sub__echelon_entry_kind = ECHELON_ENTRY_KIND_SUB;
