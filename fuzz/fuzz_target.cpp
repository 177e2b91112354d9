// libFuzzer driver for one decoder entry point, chosen at build time by ECHELON_FUZZ_ENTRY.
#include <cstdio>
#include <cstdlib>

#include "decoder_entries.h"

namespace {

const echelon::wire::fuzz::DecoderEntry& entry() {
  static const auto* e = echelon::wire::fuzz::find_entry(ECHELON_FUZZ_ENTRY);
  if (!e) {
    std::fprintf(stderr, "no decoder entry named %s\n", ECHELON_FUZZ_ENTRY);
    std::abort();
  }
  return *e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  entry().run({data, size});
  return 0;
}
