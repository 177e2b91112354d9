// Helpers for tests that run real child processes.
#pragma once

#include "proc_probe.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <dirent.h>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace echelon::testing {

// True when `pid` no longer exists (or is only a zombie awaiting its reaper).
inline bool process_gone(int pid) { return !process_alive(pid); }

inline bool all_gone(const std::vector<int>& pids, double seconds = 10) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (true) {
    bool gone = true;
    for (int p : pids) gone = gone && process_gone(p);
    if (gone) return true;
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Shared-memory objects this process created and left in /dev/shm (names embed the creator's pid;
// tests running in parallel own theirs).
inline std::vector<std::string> echelon_shm_entries() {
  const std::string mine = "echelon-" + std::to_string(getpid()) + "-";
  std::vector<std::string> out;
  if (DIR* d = opendir("/dev/shm")) {
    while (dirent* e = readdir(d))
      if (std::string(e->d_name).rfind(mine, 0) == 0) out.emplace_back(e->d_name);
    closedir(d);
  }
  return out;
}

}  // namespace echelon::testing
