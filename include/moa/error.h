// moa — user-facing errors. Every rule a user's input can break is reported by throwing
// moa::Error with a message that names the operation, the shapes involved and the rule.
// Internal invariants that fail are bugs and throw moa::InternalError instead.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace moa {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& what)
      : std::logic_error("moa internal error (a bug, please report): " + what) {}
};

namespace internal {
template <typename... Parts>
std::string Concat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}
}  // namespace internal

// Throws moa::Error with the parts streamed together when `ok` is false.
template <typename... Parts>
void UserCheck(bool ok, Parts&&... parts) {
  if (!ok) throw Error(internal::Concat(std::forward<Parts>(parts)...));
}

template <typename... Parts>
void InternalCheck(bool ok, Parts&&... parts) {
  if (!ok) throw InternalError(internal::Concat(std::forward<Parts>(parts)...));
}

}  // namespace moa
