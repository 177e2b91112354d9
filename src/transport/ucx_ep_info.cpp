#include "transport/ucx_ep_info.h"

#include <cctype>

namespace echelon::transport {
namespace {

// "rma#0" as a whole word: not "rma_bw#0", not "xrma#0".
bool lists_rma_use(std::string_view line) {
  for (size_t at = line.find("rma#"); at != std::string_view::npos; at = line.find("rma#", at + 1)) {
    const bool starts_word = at == 0 || line[at - 1] == ' ' || line[at - 1] == '\t';
    const size_t digit = at + 4;
    if (starts_word && digit < line.size() && std::isdigit(static_cast<unsigned char>(line[digit]))) return true;
  }
  return false;
}

}  // namespace

bool ep_info_offloads_rma(std::string_view ep_info) {
  while (!ep_info.empty()) {
    const size_t end = ep_info.find('\n');
    const std::string_view line = ep_info.substr(0, end);
    if (line.find("lane[") != std::string_view::npos && lists_rma_use(line)) return true;
    if (end == std::string_view::npos) break;
    ep_info.remove_prefix(end + 1);
  }
  return false;
}

}  // namespace echelon::transport
