// Result<T, E>: a value or an error, never both. Errors are values in advpnd:
// no exception crosses a library boundary or an event-loop callback.
// (std::expected is C++23 and clang-14 cannot use libstdc++'s.)
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

namespace advpnd {

template <class E>
struct Unexpected {
  E error;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

// Wraps an error so that it converts into any Result<T, E>.
template <class E>
[[nodiscard]] Unexpected<std::decay_t<E>> fail(E&& error) {
  return Unexpected<std::decay_t<E>>{std::forward<E>(error)};
}

template <class T, class E>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  template <class G>
  Result(Unexpected<G> error)  // NOLINT(google-explicit-constructor)
      : storage_(std::in_place_index<1>, E(std::move(error.error))) {}

  [[nodiscard]] bool ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return ok(); }

  [[nodiscard]] T& value() & { return std::get<0>(storage_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(storage_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(storage_)); }
  [[nodiscard]] const E& error() const { return std::get<1>(storage_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, E> storage_;
};

// Result<void, E>: success carries nothing.
template <class E>
class [[nodiscard]] Status {
 public:
  Status() = default;
  template <class G>
  Status(Unexpected<G> error)  // NOLINT(google-explicit-constructor)
      : failed_(true), error_(std::move(error.error)) {}

  [[nodiscard]] bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] const E& error() const { return error_; }

 private:
  bool failed_ = false;
  E error_{};
};

}  // namespace advpnd
