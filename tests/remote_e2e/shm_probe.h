// What the remote buffer e2e tests ask /dev/shm and /proc about session objects
// ("es<16 hex session id>_<b|i><hex counter>"). Tests run in parallel (ctest -j2), so other
// sessions' objects come and go in /dev/shm at any time: a test identifies its own objects
// through the mappings of its own runners, never by diffing /dev/shm.
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace echelon::remote_e2e {

// Every session object currently in /dev/shm.
inline std::set<std::string> session_shm_objects() {
  std::set<std::string> names;
  if (DIR* d = ::opendir("/dev/shm")) {
    while (dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind("es", 0) == 0 && n.find('_') == 18) names.insert(n);
    }
    ::closedir(d);
  }
  return names;
}

// Session owner objects ("es<16 hex>_b<hex>") that the processes `pids` have mapped.
inline std::set<std::string> mapped_owner_objects(const std::vector<int>& pids) {
  std::set<std::string> names;
  for (int pid : pids) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    for (std::string line; std::getline(maps, line);) {
      const auto at = line.find("/dev/shm/es");
      if (at == std::string::npos) continue;
      std::string name = line.substr(at + 9);
      if (const auto space = name.find(' '); space != std::string::npos) name.resize(space);
      if (name.size() > 19 && name[18] == '_' && name[19] == 'b') names.insert(name);
    }
  }
  return names;
}

inline std::vector<std::string> objects_with_prefix(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& n : session_shm_objects())
    if (n.rfind(prefix, 0) == 0) out.push_back(n);
  return out;
}

}  // namespace echelon::remote_e2e
