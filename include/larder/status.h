// Status and Result<T>: how every Larder module boundary reports errors.
//
// Larder does not throw across module boundaries. A function that can fail
// returns Status (no value) or Result<T> (a value or a Status). An OK status
// holds no allocation. Error messages are meant for users: they name the
// file, line, field or object that is wrong and say what is wrong.
//
// Thread safety: Status and Result are values; distinct objects may be used
// from distinct threads without synchronisation.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace larder {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad user input: a definition, a flag, a request
  kNotFound,          // a named object or file does not exist
  kAlreadyExists,     // creating something that is already there
  kFailedPrecondition,// the system is not in a state that allows the call
  kBusy,              // a lock is held elsewhere (another apply, say)
  kIOError,           // the file system or a socket failed
  kCorruption,        // stored data does not parse
  kInternal,          // a bug: an invariant did not hold
};

// Returns a short lower-case name for a code ("invalid argument").
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status.
  Status() = default;

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(StatusCode::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) {
    return Status(StatusCode::kNotFound, std::move(msg));
  }
  static Status AlreadyExists(std::string msg) {
    return Status(StatusCode::kAlreadyExists, std::move(msg));
  }
  static Status FailedPrecondition(std::string msg) {
    return Status(StatusCode::kFailedPrecondition, std::move(msg));
  }
  static Status Busy(std::string msg) {
    return Status(StatusCode::kBusy, std::move(msg));
  }
  static Status IOError(std::string msg) {
    return Status(StatusCode::kIOError, std::move(msg));
  }
  static Status Corruption(std::string msg) {
    return Status(StatusCode::kCorruption, std::move(msg));
  }
  static Status Internal(std::string msg) {
    return Status(StatusCode::kInternal, std::move(msg));
  }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return ok() ? StatusCode::kOk : rep_->code; }
  // The message without the code name; empty when ok().
  const std::string& message() const;
  // "invalid argument: <message>", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>". OK stays OK.
  Status WithContext(std::string_view prefix) const;

  Status(const Status& other)
      : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) {
      rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    }
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  Status(StatusCode code, std::string msg)
      : rep_(std::make_unique<Rep>(Rep{code, std::move(msg)})) {}

  std::unique_ptr<Rep> rep_;
};

// A value of type T, or the Status that explains why there is none.
// REQUIRES: a Result is never constructed from an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; an OK Status when ok().
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace larder

// Returns early from the enclosing function when `expr` is not OK.
#define LARDER_RETURN_IF_ERROR(expr)            \
  do {                                          \
    ::larder::Status _larder_st = (expr);       \
    if (!_larder_st.ok()) return _larder_st;    \
  } while (0)

#define LARDER_CONCAT_INNER_(a, b) a##b
#define LARDER_CONCAT_(a, b) LARDER_CONCAT_INNER_(a, b)

// Declares `lhs` from a Result-returning `rexpr`, or returns its Status.
#define LARDER_ASSIGN_OR_RETURN(lhs, rexpr) \
  LARDER_ASSIGN_OR_RETURN_IMPL_(LARDER_CONCAT_(_larder_r_, __LINE__), lhs, rexpr)
#define LARDER_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                  \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
