// CpuRelax: the body of a spin-wait loop (the x86 PAUSE instruction; a yield
// elsewhere), so a spinning thread does not starve its hyperthread sibling
// or flood the memory bus while it watches a flag.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#else
#include <thread>
#endif

namespace relup::rt {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace relup::rt
