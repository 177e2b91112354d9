// What tests that run real processes ask /proc: is a process alive, who are its children.
#pragma once

#include <vector>

namespace echelon::testing {

// State letter and parent pid of `pid` from /proc/<pid>/stat; false when the process is gone.
bool read_proc_stat(int pid, char& state, int& ppid);
// The process exists and is not a zombie awaiting its reaper.
bool process_alive(int pid);
// Live (non-zombie) children of `parent`.
std::vector<int> live_children(int parent);

}  // namespace echelon::testing
