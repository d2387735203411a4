// moa python — the extension module `moa._moa_ring`: attention across MPI ranks (ring and
// split-KV), built where CMake found MPI. Apart from `moa._moa` so that `import moa` never loads
// the MPI library. The communicator comes as its Fortran handle (mpi4py: comm.py2f()), which
// MPI_Comm_f2c turns into this MPI's C handle whatever the implementation. The Python package
// (python/moa/__init__.py) prepares the arrays as for moa.attention.
#include <mpi.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "moa/attention.h"
#include "moa/error.h"
#include "moa/ring_attention.h"
#include "moa/split_kv_attention.h"
#include "ring/agree.h"
#include "views.h"

namespace py = pybind11;

namespace moa::python {
namespace {

MPI_Comm Comm(int64_t fortran_handle) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  UserCheck(initialized, "moa: MPI is not initialised (import mpi4py's MPI first)");
  const MPI_Comm comm = MPI_Comm_f2c(static_cast<MPI_Fint>(fortran_handle));
  UserCheck(comm != MPI_COMM_NULL, "moa: comm: expected a communicator, got COMM_NULL");
  return comm;
}

}  // namespace
}  // namespace moa::python

PYBIND11_MODULE(_moa_ring, m) {
  using namespace moa;
  using namespace moa::python;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.def(
      "_first_error",
      [](int64_t comm, const std::string& error) {
        const MPI_Comm c = Comm(comm);
        py::gil_scoped_release release;
        return internal::FirstError(c, error);
      },
      "Collective: the error of the lowest rank that has one, '' if none.");
  // mode: "contiguous" or "zigzag" (RingAttention with those shards), or "split_kv"
  // (SplitKvAttention: every rank holds the queries).
  m.def(
      "_attention_across_ranks",
      [](const py::array& q, const py::array& k, const py::array& v, const py::array& out,
         const std::string& dtype, const std::string& out_dtype,
         const std::optional<py::array>& mask, const std::string& mask_dtype, bool is_causal,
         bool bottom_right, std::optional<double> scale, const std::optional<py::array>& lse,
         int num_threads, int64_t block_q, int64_t block_k, int64_t kv_splits, int64_t comm,
         const std::string& mode) {
        const DType dt = DTypeOf(dtype);
        const AttentionOptions o = Options(mask, mask_dtype, is_causal, bottom_right, scale, lse,
                                           num_threads, block_q, block_k, kv_splits);
        const Tensor tq = View(q, dt, "query"), tk = View(k, dt, "key"), tv = View(v, dt, "value");
        const Tensor to = View(out, DTypeOf(out_dtype), "out");
        const MPI_Comm c = Comm(comm);
        py::gil_scoped_release release;  // reads and writes only the buffers above
        if (mode == "split_kv") {
          SplitKvAttention(tq, tk, tv, to, o, c);
        } else {
          RingAttention(tq, tk, tv, to, o, c,
                        mode == "zigzag" ? RingSharding::kZigzag : RingSharding::kContiguous);
        }
      });
}
