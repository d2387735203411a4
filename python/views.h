// moa python — NumPy arrays as moa::Tensor views, shared by the extension modules moa._moa and
// moa._moa_ring.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>

#include "moa/attention.h"

namespace moa::python {

// A 4-D (or lower) strided view of a NumPy array; `name` appears in errors.
inline Tensor View(const pybind11::array& a, DType dtype, const char* name) {
  namespace py = pybind11;
  if (a.ndim() > 4) throw py::value_error(std::string(name) + ": expected at most 4 dimensions");
  Tensor t;
  t.data = const_cast<void*>(a.data());
  t.dtype = dtype;
  t.rank = static_cast<int>(a.ndim());
  for (int d = 0; d < t.rank; ++d) {
    if (a.strides(d) % static_cast<py::ssize_t>(a.itemsize()) != 0)
      throw py::value_error(std::string(name) + ": strides must be multiples of the element size");
    t.sizes[static_cast<size_t>(d)] = a.shape(d);
    t.strides[static_cast<size_t>(d)] = a.strides(d) / static_cast<py::ssize_t>(a.itemsize());
  }
  return t;
}

inline DType DTypeOf(const std::string& name) {
  if (name == "float64") return DType::kFloat64;
  if (name == "float32") return DType::kFloat32;
  if (name == "bfloat16") return DType::kBFloat16;
  if (name == "bool") return DType::kBool;
  throw pybind11::type_error("unsupported dtype '" + name + "'");
}

// The options of moa._moa._attention and moa._moa_ring._ring_attention, from their arguments.
inline AttentionOptions Options(const std::optional<pybind11::array>& mask,
                                const std::string& mask_dtype, bool is_causal, bool bottom_right,
                                std::optional<double> scale,
                                const std::optional<pybind11::array>& lse, int num_threads,
                                int64_t block_q, int64_t block_k, int64_t kv_splits) {
  AttentionOptions o;
  o.scale = scale;
  o.is_causal = is_causal;
  o.causal_align = bottom_right ? CausalAlign::kBottomRight : CausalAlign::kTopLeft;
  o.num_threads = num_threads;
  o.block_q = block_q;
  o.block_k = block_k;
  o.kv_splits = kv_splits;
  if (mask) o.mask = View(*mask, DTypeOf(mask_dtype), "attn_mask");
  if (lse) o.lse = View(*lse, lse->itemsize() == 8 ? DType::kFloat64 : DType::kFloat32, "lse");
  return o;
}

}  // namespace moa::python
