// Facts about the calling process that fork-safety checks rely on.
#pragma once

namespace echelon {

// Threads of this process right now (/proc/self/task). Forking is only safe at 1 (RT-704).
int process_thread_count();

}  // namespace echelon
