// make_seeds GOLDEN_DIR OUT_DIR: turns each golden hex frame into seed inputs, one directory per
// decoder entry (OUT_DIR/<entry>/<golden-name>).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "decoder_entries.h"

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> parse_hex(const std::string& text) {
  std::vector<uint8_t> out;
  std::string digits;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    line = line.substr(0, line.find('#'));
    for (char c : line)
      if (std::isxdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_seeds GOLDEN_DIR OUT_DIR\n";
    return 2;
  }
  const fs::path out_dir = argv[2];
  for (const auto& e : echelon::wire::fuzz::decoder_entries()) fs::create_directories(out_dir / e.name);
  size_t written = 0;
  for (const auto& file : fs::directory_iterator(argv[1])) {
    if (file.path().extension() != ".hex") continue;
    std::ifstream in(file.path());
    std::stringstream text;
    text << in.rdbuf();
    const auto frame = parse_hex(text.str());
    for (const auto& [entry, bytes] : echelon::wire::fuzz::seeds_from_frame(frame)) {
      std::ofstream seed(out_dir / entry / file.path().stem(), std::ios::binary);
      seed.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      ++written;
    }
  }
  size_t n = 0;
  for (const auto& [entry, bytes] : echelon::wire::fuzz::seeds_outside_frames()) {
    std::ofstream seed(out_dir / entry / ("sample" + std::to_string(n++)), std::ios::binary);
    seed.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ++written;
  }
  std::cout << "make_seeds: wrote " << written << " seeds\n";
  return written ? 0 : 1;
}
