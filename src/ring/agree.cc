// moa — ring attention (stage: ring, errors agreed across ranks). See agree.h.
#include "ring/agree.h"

#include <algorithm>

#include "moa/error.h"

namespace moa::internal {

std::string FirstError(MPI_Comm comm, const std::string& error) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int first = error.empty() ? size : rank;
  MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == size) return "";
  int length = static_cast<int>(std::min<size_t>(error.size(), 4096));
  MPI_Bcast(&length, 1, MPI_INT, first, comm);
  std::string message = error;
  message.resize(static_cast<size_t>(length));
  MPI_Bcast(message.data(), length, MPI_CHAR, first, comm);
  return message;
}

void AgreeOnErrors(MPI_Comm comm, const std::string& error) {
  const std::string first = FirstError(comm, error);
  if (!first.empty()) throw Error(first);
}

}  // namespace moa::internal
