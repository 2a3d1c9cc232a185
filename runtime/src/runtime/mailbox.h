// Mailbox: a process's message queue. Many producers, one consumer.
//
// push() is thread-safe and lock-free (one CAS onto an intrusive stack).
// pop(), has_ready() and drain are owner-only: only the thread that currently
// owns the process (see process.h) may call them. The consumer takes the whole
// stack at once and reverses it into a private FIFO, so messages come out in
// the order they were pushed, and an idle mailbox costs two pointers and two
// counters — no per-process allocation.
#pragma once

#include <atomic>
#include <cstdint>

#include "relup/module_abi.h"
#include "relup/term.h"

namespace relup::rt {

struct Message {
  // kTimeout: a gen_server timeout ran out; from.tag is its timer id, and it
  // is dropped unless that timer is still the process's current one.
  enum class Kind : uint8_t { kCall, kCast, kInfo, kTimeout };

  Message(Kind k, Term p, From f = {}) : kind(k), from(f), payload(std::move(p)) {}

  Message* next = nullptr;
  Kind kind;
  From from;  // kCall: who waits for the reply
  Term payload;
};

class Mailbox {
 public:
  Mailbox() = default;
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Thread-safe. seq_cst so that a pusher's following look at the process's
  // control word cannot be reordered before the push (see Process::ctl).
  void push(Message* m) noexcept {
    pushed_.fetch_add(1, std::memory_order_relaxed);
    Message* head = inbox_.load(std::memory_order_relaxed);
    do {
      m->next = head;
    } while (!inbox_.compare_exchange_weak(head, m, std::memory_order_seq_cst,
                                           std::memory_order_relaxed));
  }

  // Owner only. The oldest message, or nullptr.
  Message* pop() noexcept {
    if (ready_ == nullptr) {
      Message* m = inbox_.exchange(nullptr, std::memory_order_acquire);
      Message* reversed = nullptr;
      while (m != nullptr) {
        Message* next = m->next;
        m->next = reversed;
        reversed = m;
        m = next;
      }
      ready_ = reversed;
      if (ready_ == nullptr) return nullptr;
    }
    Message* m = ready_;
    ready_ = m->next;
    m->next = nullptr;
    popped_.store(popped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return m;
  }

  // Owner only: messages already taken off the shared stack.
  bool has_ready() const noexcept { return ready_ != nullptr; }
  // Thread-safe: something pushed and not yet taken by the owner.
  bool inbox_nonempty() const noexcept { return inbox_.load(std::memory_order_seq_cst) != nullptr; }
  // Thread-safe, approximate while producers are active.
  uint32_t size() const noexcept {
    return pushed_.load(std::memory_order_relaxed) - popped_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<Message*> inbox_{nullptr};  // newest first
  Message* ready_ = nullptr;              // oldest first, owner only
  std::atomic<uint32_t> pushed_{0};       // wraps; only the difference matters
  std::atomic<uint32_t> popped_{0};
};

}  // namespace relup::rt
