// Status and Result<T>: how every relup API reports failure.
//
// No exception crosses a library or module boundary: functions that can fail
// return a Status (no value) or a Result<T> (a value or a non-ok Status).
// Messages are written for the person who must act on them: they say what
// went wrong, which thing (file, field, process, module) and how to fix it.
// The ok case costs nothing (no allocation). Both types are [[nodiscard]].
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace relup {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // bad input: malformed term, bad spec, wrong argument
  kNotFound,            // unknown pid, name, module, file, release
  kAlreadyExists,       // taken registered name, module vsn loaded with other content
  kFailedPrecondition,  // operation not valid in this state (e.g. not suspended)
  kTimeout,             // a call or suspend did not complete in time
  kCallbackError,       // a module callback threw or returned an error
  kProcessExited,       // the target process ended (or ended while we waited)
  kModuleError,         // a library failed a load check (ABI, magic, symbols)
  kIOError,             // the operating system refused (open, write, rename...)
  kCorruption,          // a file's content does not match what it must be
  kUnavailable,         // no node running, node shutting down
  kInternal,            // a relup bug
};

// Name of a code as a short lowercase phrase, e.g. "not found".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) { return {StatusCode::kFailedPrecondition, std::move(msg)}; }
  static Status Timeout(std::string msg) { return {StatusCode::kTimeout, std::move(msg)}; }
  static Status CallbackError(std::string msg) { return {StatusCode::kCallbackError, std::move(msg)}; }
  static Status ProcessExited(std::string msg) { return {StatusCode::kProcessExited, std::move(msg)}; }
  static Status ModuleError(std::string msg) { return {StatusCode::kModuleError, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
  // An error of a code known only at run time (kOk gives kInternal: an
  // error must not read as success).
  static Status FromCode(StatusCode code, std::string msg) {
    return {code == StatusCode::kOk ? StatusCode::kInternal : code, std::move(msg)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "ok", or "<code name>: <message>".
  std::string ToString() const;

  // The same status with "<context>: " in front of its message (ok stays ok).
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A T or a non-ok Status. Constructing a Result from an ok Status is a bug.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(v_).ok() && "Result built from an ok Status");
  }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // The error; Status::Ok() when there is a value.
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace relup

// Returns the status of `expr` from the enclosing function if it is not ok.
#define RELUP_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::relup::Status relup_status_ = (expr);         \
    if (!relup_status_.ok()) return relup_status_;  \
  } while (0)

#define RELUP_CONCAT_INNER_(a, b) a##b
#define RELUP_CONCAT_(a, b) RELUP_CONCAT_INNER_(a, b)

// RELUP_ASSIGN_OR_RETURN(auto x, ComputeResult()); returns the error if any.
#define RELUP_ASSIGN_OR_RETURN(lhs, expr) \
  RELUP_ASSIGN_OR_RETURN_IMPL_(RELUP_CONCAT_(relup_result_, __LINE__), lhs, expr)
#define RELUP_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
