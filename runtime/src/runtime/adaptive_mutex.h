// AdaptiveMutex: a mutex for critical sections of a few dozen nanoseconds
// (pid-table shards, run queues) that spins briefly before it sleeps.
//
// std::mutex sleeps in the kernel at the first contention. Under load that
// turned a 20 ns wait for a lock holder into a futex sleep and a wake-up of
// 50-200 us, and when the sleeper was the thread upgrading a process, that
// process stayed paused for as long. glibc's adaptive mutex spins for a bounded
// number of rounds first (the holder is almost always running and about to
// let go) and only then sleeps, so a preempted holder still costs no CPU.
//
// Lockable (lock, try_lock, unlock): use it with std::lock_guard and
// std::unique_lock. Not movable or copyable.
#pragma once

#include <pthread.h>

namespace relup::rt {

class AdaptiveMutex {
 public:
  AdaptiveMutex() noexcept {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
#if defined(PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP)
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    pthread_mutex_init(&mu_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~AdaptiveMutex() {
    pthread_mutex_destroy(&mu_);
  }
  AdaptiveMutex(const AdaptiveMutex&) = delete;
  AdaptiveMutex& operator=(const AdaptiveMutex&) = delete;

  void lock() noexcept {
    pthread_mutex_lock(&mu_);
  }
  bool try_lock() noexcept {
    return pthread_mutex_trylock(&mu_) == 0;
  }
  void unlock() noexcept {
    pthread_mutex_unlock(&mu_);
  }

 private:
  pthread_mutex_t mu_;
};

}  // namespace relup::rt
