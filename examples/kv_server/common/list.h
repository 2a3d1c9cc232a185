// A Redis list kept as a Term, with O(1) pushes and pops at both ends
// (amortized), so LPUSH and LPOP on one hot list (redis-benchmark's
// `mylist`) do not copy it. Shared by kv_shard's versions.
//
// Layout: !tuple [FRONT, BACK], two lists of binaries. The list reads FRONT
// from its end to its start, then BACK from its start: [a, b, c, d] may be
// !tuple [[b, a], [c, d]]. LPUSH appends to FRONT and RPUSH to BACK; LPOP and
// RPOP take from the end of their side, and a pop from an empty side first
// moves half of the other side over (the classic two-stack deque), so each
// element moves O(1) times on average. Indexing (LRANGE) is O(1) per element.
//
// The functions change the Term in place (Term::mutable_elements: copy on
// write), so the caller must hold the only reference for them to be cheap.
#pragma once

#include <algorithm>
#include <iterator>
#include <vector>

#include "relup/term.h"

namespace kv::list {

using relup::Term;

inline Term Make() {
  return Term::tuple({Term::list({}), Term::list({})});
}

inline bool Is(const Term& v) {
  return v.is_tuple() && v.size() == 2 && v[0].is_list() && v[1].is_list();
}

inline size_t Size(const Term& v) {
  return v[0].size() + v[1].size();
}

// Element i, 0 <= i < Size(v).
inline const Term& At(const Term& v, size_t i) {
  size_t front = v[0].size();
  return i < front ? v[0][front - 1 - i] : v[1][i - front];
}

inline void PushFront(Term& v, Term x) {
  v.mutable_elements()[0].mutable_elements().push_back(std::move(x));
}
inline void PushBack(Term& v, Term x) {
  v.mutable_elements()[1].mutable_elements().push_back(std::move(x));
}

namespace detail {
// Moves the first half of `from` (the elements nearest the other side) to
// the empty `to`, reversed: `to`'s end is then the end the caller pops.
inline void Refill(std::vector<Term>& to, std::vector<Term>& from) {
  size_t k = (from.size() + 1) / 2;
  auto mid = from.begin() + static_cast<std::ptrdiff_t>(k);
  to.assign(std::make_move_iterator(std::make_reverse_iterator(mid)),
            std::make_move_iterator(std::make_reverse_iterator(from.begin())));
  from.erase(from.begin(), from.begin() + static_cast<std::ptrdiff_t>(k));
}
}  // namespace detail

// Takes the first (front) or last element; nil if the list is empty.
inline Term Pop(Term& v, bool front) {
  if (Size(v) == 0) return Term();
  std::vector<Term>& sides = v.mutable_elements();
  std::vector<Term>& mine = sides[front ? 0 : 1].mutable_elements();
  if (mine.empty()) detail::Refill(mine, sides[front ? 1 : 0].mutable_elements());
  Term out = std::move(mine.back());
  mine.pop_back();
  return out;
}

}  // namespace kv::list
