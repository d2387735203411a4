// `moa bench`'s unfused peer on oneDNN: matmul (with the scale as an output scale), softmax in
// place, and for bfloat16 a reorder of P to bfloat16 before the second matmul (oneDNN's AMX /
// AVX512-BF16 matmul wants both operands in bfloat16); float32 accumulation throughout. kᵀ is a
// strided view of k (format acb), no copy. oneDNN has no float64 matmul on CPUs.
#include <omp.h>

#include <cmath>

#include <oneapi/dnnl/dnnl.hpp>

#include "moa/error.h"
#include "peer.h"

namespace moa::cli {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

const char* IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::sse41: return "sse41";
    default: return "other";
  }
}

memory::data_type DnnlType(DType dtype) {
  return dtype == DType::kBFloat16 ? memory::data_type::bf16 : memory::data_type::f32;
}

}  // namespace

struct PeerRun::State {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul qk, pv;
  dnnl::softmax_forward softmax;
  dnnl::reorder to_bf16;  // bfloat16 only
  memory q, kt, v, o, s, p;
  int threads = 1;
  std::string kernels;
};

const char* PeerName() { return "onednn"; }

std::string PeerDescription() {
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + " (matmul, softmax, matmul), ISA " +
         IsaName(dnnl::get_effective_cpu_isa());
}

std::string PeerUnsupported(DType dtype) {
  if (dtype == DType::kFloat64) return "oneDNN has no float64 matmul on CPUs";
  if (dtype != DType::kBFloat16) return "";
  // oneDNN 2.6 has bfloat16 matmuls only on AVX-512 CPUs: elsewhere creating one throws (an AVX2
  // host ended `moa bench --impl onednn` in std::terminate), so ask it once with a tiny one.
  static const bool has_bf16 = [] {
    try {
      const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
      const memory::desc md({1, 2, 2}, memory::data_type::bf16, tag::abc);
      const memory::desc out({1, 2, 2}, memory::data_type::f32, tag::abc);
      dnnl::matmul::primitive_desc(dnnl::matmul::desc(md, md, out), engine);
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return has_bf16 ? "" : "oneDNN has no bfloat16 matmul on this CPU (ISA " +
                             std::string(IsaName(dnnl::get_effective_cpu_isa())) + ")";
}

PeerRun::PeerRun(const BenchTensors& t, DType dtype, int64_t heads, int64_t nq, int64_t nk,
                 int64_t d, int threads)
    : state_(std::make_unique<State>()) {
  UserCheck(PeerUnsupported(dtype).empty(), "moa bench: --impl onednn: ", PeerUnsupported(dtype));
  State& st = *state_;
  st.threads = threads;
  const memory::data_type dt = DnnlType(dtype), f32 = memory::data_type::f32;
  const memory::desc q_md({heads, nq, d}, dt, tag::abc);
  const memory::desc kt_md({heads, d, nk}, dt, tag::acb);  // k (heads, nk, d) read as kᵀ
  const memory::desc v_md({heads, nk, d}, dt, tag::abc);
  const memory::desc o_md({heads, nq, d}, dt, tag::abc);
  const memory::desc s_md({heads, nq, nk}, f32, tag::abc);
  const memory::desc p_md({heads, nq, nk}, dt, tag::abc);
  st.q = memory(q_md, st.engine, t.q.data);
  st.kt = memory(kt_md, st.engine, t.k.data);
  st.v = memory(v_md, st.engine, t.v.data);
  st.o = memory(o_md, st.engine, t.o.data);
  st.s = memory(s_md, st.engine);  // oneDNN allocates
  st.p = dtype == DType::kBFloat16 ? memory(p_md, st.engine) : st.s;

  dnnl::primitive_attr scaled;
  scaled.set_output_scales(0, {static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)))});
  const dnnl::matmul::primitive_desc qk_pd(dnnl::matmul::desc(q_md, kt_md, s_md), scaled,
                                           st.engine);
  const dnnl::softmax_forward::primitive_desc sm_pd(
      dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, s_md, 2), st.engine);
  const dnnl::matmul::primitive_desc pv_pd(dnnl::matmul::desc(p_md, v_md, o_md), st.engine);
  st.qk = dnnl::matmul(qk_pd);
  st.softmax = dnnl::softmax_forward(sm_pd);
  st.pv = dnnl::matmul(pv_pd);
  st.kernels = std::string("matmul ") + qk_pd.impl_info_str() + ", softmax " +
               sm_pd.impl_info_str() + ", matmul " + pv_pd.impl_info_str();
  if (dtype == DType::kBFloat16) {
    const dnnl::reorder::primitive_desc r_pd(st.engine, s_md, st.engine, p_md);
    st.to_bf16 = dnnl::reorder(r_pd);
    st.kernels += ", reorder " + std::string(r_pd.impl_info_str());
  }
}

PeerRun::~PeerRun() = default;

void PeerRun::operator()() {
  State& st = *state_;
  omp_set_num_threads(st.threads);  // oneDNN's OpenMP runtime uses the default team size
  st.qk.execute(st.stream, {{DNNL_ARG_SRC, st.q}, {DNNL_ARG_WEIGHTS, st.kt}, {DNNL_ARG_DST, st.s}});
  st.softmax.execute(st.stream, {{DNNL_ARG_SRC, st.s}, {DNNL_ARG_DST, st.s}});
  if (st.p.get_data_handle() != st.s.get_data_handle())
    st.to_bf16.execute(st.stream, {{DNNL_ARG_FROM, st.s}, {DNNL_ARG_TO, st.p}});
  st.pv.execute(st.stream, {{DNNL_ARG_SRC, st.p}, {DNNL_ARG_WEIGHTS, st.v}, {DNNL_ARG_DST, st.o}});
  st.stream.wait();
}

std::string PeerRun::Kernels() const { return state_->kernels; }

}  // namespace moa::cli
