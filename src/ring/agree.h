// moa — ring attention (stage: ring, errors agreed across ranks).
// In: a communicator and this rank's error ("" when it has none). Out: the same answer on every
// rank: the error of the lowest rank that has one. A rank that fails alone must not leave the
// others waiting in a collective call, so every failure point of the ring ends in this exchange.
#pragma once

#include <mpi.h>

#include <string>

namespace moa::internal {

// Collective: the error of the lowest failing rank (at most 4096 characters), "" if none failed.
std::string FirstError(MPI_Comm comm, const std::string& error);

// Collective: throws moa::Error with FirstError's message on every rank, if any rank failed.
void AgreeOnErrors(MPI_Comm comm, const std::string& error);

}  // namespace moa::internal
