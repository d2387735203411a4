// moa — ring attention (stage: ring, errors agreed across ranks).
// In: a communicator and this rank's error ("" when it has none). Out: the same answer on every
// rank: the error of the lowest rank that has one. A rank that fails alone must not leave the
// others waiting in a collective call, so every failure point of the ring ends in this exchange.
#pragma once

#include <mpi.h>

#include <exception>
#include <new>
#include <string>

namespace moa::internal {

// Runs `work`; returns the message of what it threw, "" when it succeeded: this rank's part of
// an agreement.
template <typename Work>
std::string ErrorOf(Work&& work) {
  try {
    work();
  } catch (const std::bad_alloc&) {
    return "out of memory";
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Collective: the error of the lowest failing rank (at most 4096 characters), "" if none failed.
std::string FirstError(MPI_Comm comm, const std::string& error);

// Collective: throws moa::Error with FirstError's message on every rank, if any rank failed.
void AgreeOnErrors(MPI_Comm comm, const std::string& error);

}  // namespace moa::internal
