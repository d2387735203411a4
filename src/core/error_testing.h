// moa core (tests only) — the message of the moa::Error a call throws, "" when it throws none, for
// tests that check what a user is told.
#pragma once

#include <string>

#include "moa/error.h"

namespace moa {

template <typename Call>
std::string ErrorOf(Call&& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace moa
