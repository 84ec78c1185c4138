// Process-wide settings both daemons apply at start.
#pragma once

#include <malloc.h>

namespace advpnd::app {

// Each group commit makes SQLite allocate and free its page buffers, and the
// dataplane's bursts do the same at a smaller scale; with glibc's defaults
// the freed top of the heap is trimmed after each and faulted in again by
// the next (perf showed three quarters of the hub's time in the kernel's
// page-fault and munmap paths during a registration storm). Keep freed
// memory for reuse instead: about 1.5x more registrations acknowledged per
// second (bench/run-hub-load.sh).
inline void tune_allocator() {
  constexpr int kTrimThreshold = 128 << 20;
  constexpr int kTopPad = 16 << 20;
  constexpr int kMmapThreshold = 32 << 20;
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  mallopt(M_TOP_PAD, kTopPad);
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
}

}  // namespace advpnd::app
