// The one error model: every function that does I/O returns Result<T>. Exceptions are reserved
// for start-up and configuration loading.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace fleetkeeper {

enum class ErrorCode {
  kInvalidInput,  // bad input data: names the field and the reason
  kNotFound,
  kAlreadyExists,
  kInProgress,  // an idempotent retry found the operation still running
  kUnauthorized,
  kThrottled,
  kTimeout,
  kNetwork,
  kAws,  // an AWS service error: see aws_code / request_id
  kKafka,
  kConflict,
  kUnavailable,
  kCancelled,
  kNotImplemented,
  kInternal,
};

const char* ToString(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  bool retriable = false;
  std::string aws_code;    // e.g. "InvalidInstanceID.NotFound", "ThrottlingException"
  std::string request_id;  // AWS request id, when there is one
  int http_status = 0;

  Error() = default;
  Error(ErrorCode c, std::string msg, bool retry = false)
      : code(c), message(std::move(msg)), retriable(retry) {}

  // "<code>: <message>" plus the AWS code and request id when present.
  std::string ToString() const;
};

inline Error InvalidInput(std::string msg) {
  return Error(ErrorCode::kInvalidInput, std::move(msg));
}
inline Error NotImplemented(std::string msg) {
  return Error(ErrorCode::kNotImplemented, std::move(msg));
}
inline Error Internal(std::string msg) { return Error(ErrorCode::kInternal, std::move(msg)); }

// A value or an Error. Accessing the wrong side is a programming error (asserted).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& take_error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Ok) {}                                  // NOLINT
  Result(Error error) : e_(std::move(error)) {}  // NOLINT
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    assert(!ok());
    return *e_;
  }
  Error&& take_error() && {
    assert(!ok());
    return std::move(*e_);
  }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;

}  // namespace fleetkeeper
