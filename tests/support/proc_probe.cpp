#include "proc_probe.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace echelon::testing {

bool read_proc_stat(int pid, char& state, int& ppid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto close = line.rfind(')');  // the command name may contain spaces and parentheses
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  std::istringstream rest(line.substr(close + 2));
  return static_cast<bool>(rest >> state >> ppid);
}

bool process_alive(int pid) {
  char state = 0;
  int ppid = 0;
  return read_proc_stat(pid, state, ppid) && state != 'Z';
}

std::vector<int> live_children(int parent) {
  std::vector<int> children;
  DIR* proc = opendir("/proc");
  if (!proc) return children;
  while (dirent* e = readdir(proc)) {
    const int pid = std::atoi(e->d_name);
    char state = 0;
    int ppid = 0;
    if (pid > 0 && read_proc_stat(pid, state, ppid) && ppid == parent && state != 'Z') children.push_back(pid);
  }
  closedir(proc);
  return children;
}

}  // namespace echelon::testing
