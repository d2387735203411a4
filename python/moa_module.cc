// moa python — the extension module `moa._moa`. One define_* per area (errors, attention,
// compiler), one entry point. The Python package (python/moa/__init__.py) does the argument
// handling users see (leading dims, torch tensors, broadcasting) and calls the raw functions here
// on 4-D strided NumPy arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "driver/derivation.h"
#include "driver/run.h"
#include "moa/attention.h"
#include "moa/error.h"
#include "moa/version.h"
#include "spec/spec.h"
#include "views.h"

namespace py = pybind11;

namespace moa::python {
namespace {

void DefineErrors(py::module_& m) {
  static py::exception<spec::SpecError> spec_error(m, "SpecError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const spec::SpecError& e) {
      spec_error(e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
}

void DefineAttention(py::module_& m) {
  m.def(
      "_attention",
      [](const py::array& q, const py::array& k, const py::array& v, const py::array& out,
         const std::string& dtype, const std::string& out_dtype, const std::optional<py::array>& mask,
         const std::string& mask_dtype, bool is_causal, bool bottom_right, std::optional<double> scale,
         const std::optional<py::array>& lse, int num_threads, int64_t block_q, int64_t block_k,
         int64_t kv_splits) {
        const DType dt = DTypeOf(dtype);
        const AttentionOptions o = Options(mask, mask_dtype, is_causal, bottom_right, scale, lse,
                                           num_threads, block_q, block_k, kv_splits);
        const Tensor tq = View(q, dt, "query"), tk = View(k, dt, "key"), tv = View(v, dt, "value");
        const Tensor to = View(out, DTypeOf(out_dtype), "out");
        py::gil_scoped_release release;  // the kernel reads and writes only the buffers above
        Attention(tq, tk, tv, to, o);
      },
      py::arg("q"), py::arg("k"), py::arg("v"), py::arg("out"), py::arg("dtype"), py::arg("out_dtype"),
      py::arg("mask"), py::arg("mask_dtype"), py::arg("is_causal"), py::arg("bottom_right"),
      py::arg("scale"), py::arg("lse"), py::arg("num_threads"), py::arg("block_q"),
      py::arg("block_k"), py::arg("kv_splits"));
  m.def("_bfloat16_from_float32", [](py::array_t<float, py::array::c_style | py::array::forcecast> a) {
    py::array_t<uint16_t> out(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()));
    auto* dst = out.mutable_data();
    const float* src = a.data();
    for (py::ssize_t i = 0; i < a.size(); ++i) dst[i] = BFloat16FromFloat(src[i]);
    return out;
  });
  m.def("_float32_from_bfloat16", [](py::array_t<uint16_t, py::array::c_style | py::array::forcecast> a) {
    py::array_t<float> out(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()));
    auto* dst = out.mutable_data();
    const uint16_t* src = a.data();
    for (py::ssize_t i = 0; i < a.size(); ++i) dst[i] = FloatFromBFloat16(src[i]);
    return out;
  });
}

spec::Spec LoadSpec(const std::string& source, bool is_path, const std::string& builtin) {
  if (!builtin.empty()) return driver::LoadSpec(builtin, true);
  if (is_path) return spec::ParseFile(source);
  return spec::Parse(source, "<string>");
}

// (Bq, Bk, S) from Python (S = 1 when the caller gave two).
std::optional<lift::Tiles> Tiles(const std::optional<std::tuple<int64_t, int64_t, int64_t>>& t) {
  if (!t) return std::nullopt;
  const auto [bq, bk, s] = *t;
  UserCheck(bq >= 1 && bk >= 1, "lift: tile sizes must be >= 1, got (", bq, ", ", bk, ")");
  UserCheck(s >= 1, "lift: the split count must be >= 1, got ", s);
  return lift::Tiles{bq, bk, s};
}

void DefineCompiler(py::module_& m) {
  m.def(
      "_derive",
      [](const std::string& source, bool is_path, const std::string& builtin, bool steps,
         std::optional<std::tuple<int64_t, int64_t, int64_t>> tiles) {
        const driver::Derivation d = driver::Derive(LoadSpec(source, is_path, builtin), {}, Tiles(tiles));
        nlohmann::json j = driver::ToJson(d, steps);
        j["text"] = driver::ToText(d, steps);
        return j.dump();
      },
      py::arg("source"), py::arg("is_path"), py::arg("builtin"), py::arg("steps"), py::arg("tiles"));
  m.def(
      "_run",
      [](const std::string& source, bool is_path, const std::string& builtin,
         const std::map<std::string, py::array_t<double, py::array::c_style | py::array::forcecast>>& inputs,
         const std::map<std::string, std::string>& dtypes, const std::map<std::string, int64_t>& sizes,
         uint64_t seed, std::optional<std::tuple<int64_t, int64_t, int64_t>> tiles) {
        const driver::Derivation d = driver::Derive(LoadSpec(source, is_path, builtin), {}, Tiles(tiles));
        std::map<std::string, Array> arrays;
        for (const auto& [name, a] : inputs) {
          driver::CheckInputDtype(d.spec, name, dtypes.at(name), name);
          Index shape(a.shape(), a.shape() + a.ndim());
          arrays.emplace(name, Array(shape, std::vector<double>(a.data(), a.data() + a.size())));
        }
        const Bindings bound = driver::BindSizes(d.spec, arrays, Bindings(sizes.begin(), sizes.end()),
                                                 driver::Caller::kPython);
        driver::CheckMemory(d, bound);
        driver::DrawMissingInputs(d.spec, bound, seed, &arrays);
        std::vector<Array> results;
        {
          py::gil_scoped_release release;
          results = driver::Run(d, bound, arrays);
        }
        py::list out;
        for (const Array& r : results) {
          py::array_t<double> a(std::vector<py::ssize_t>(r.shape().begin(), r.shape().end()));
          std::copy(r.data().begin(), r.data().end(), a.mutable_data());
          out.append(a);
        }
        return py::make_tuple(out, d.spec.output_names);
      },
      py::arg("source"), py::arg("is_path"), py::arg("builtin"), py::arg("inputs"), py::arg("dtypes"),
      py::arg("sizes"), py::arg("seed"), py::arg("tiles"));
}

}  // namespace
}  // namespace moa::python

PYBIND11_MODULE(_moa, m) {
  m.doc() = "moa: attention derived by the Mathematics of Arrays (native part)";
  m.attr("__version__") = MOA_VERSION;
  moa::python::DefineErrors(m);
  moa::python::DefineAttention(m);
  moa::python::DefineCompiler(m);
}
