// An entry exported by hand without its entry-kind companion: hosts cannot know its type.
#include "echelon/plugin.h"

ECHELON_PLUGIN();
ECHELON_PLUGIN_EXPORT int32_t test_sub(const echelon::SubCall*, echelon_error_buf*) { return 0; }
