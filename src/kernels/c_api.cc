// moa — runtime attention, C ABI (stage: kernels): converts C views to moa::Tensor and every C++
// exception to a status code plus a thread-local message.
#include "moa/c_api.h"

#include <exception>
#include <string>

#include "moa/attention.h"
#include "moa/error.h"

namespace {

thread_local std::string last_error;

moa::Tensor ToTensor(const moa_tensor& t) {
  moa::Tensor out;
  out.data = t.data;
  out.dtype = static_cast<moa::DType>(t.dtype);
  out.rank = t.rank;
  for (int i = 0; i < 4; ++i) {
    out.sizes[i] = t.sizes[i];
    out.strides[i] = t.strides[i];
  }
  return out;
}

void CheckDType(const moa_tensor& t, const char* name) {
  moa::UserCheck(t.dtype >= MOA_FLOAT64 && t.dtype <= MOA_BOOL, "moa_attention: argument '", name,
                 "': expected a moa_dtype value 0 to 3, got ", static_cast<int>(t.dtype));
}

}  // namespace

extern "C" {

void moa_attention_options_init(moa_attention_options* options) {
  if (options == nullptr) return;
  *options = moa_attention_options{};
  options->impl = MOA_IMPL_FUSED;
}

int moa_attention(const moa_tensor* q, const moa_tensor* k, const moa_tensor* v,
                  const moa_tensor* out, const moa_attention_options* options) {
  last_error.clear();
  try {
    for (auto [t, name] : {std::pair{q, "q"}, {k, "k"}, {v, "v"}, {out, "out"}}) {
      moa::UserCheck(t != nullptr, "moa_attention: argument '", name,
                     "': expected a moa_tensor pointer, got NULL");
      CheckDType(*t, name);
    }
    moa::AttentionOptions o;
    if (options != nullptr) {
      if (options->has_scale) o.scale = options->scale;
      o.is_causal = options->is_causal != 0;
      o.causal_align =
          options->causal_bottom_right ? moa::CausalAlign::kBottomRight : moa::CausalAlign::kTopLeft;
      if (options->mask) {
        CheckDType(*options->mask, "mask");
        o.mask = ToTensor(*options->mask);
      }
      if (options->lse) {
        CheckDType(*options->lse, "lse");
        o.lse = ToTensor(*options->lse);
      }
      o.num_threads = options->num_threads;
      moa::UserCheck(options->impl == MOA_IMPL_FUSED || options->impl == MOA_IMPL_NAIVE,
                     "moa_attention: argument 'impl': expected MOA_IMPL_FUSED or MOA_IMPL_NAIVE, got ",
                     static_cast<int>(options->impl));
      o.impl = options->impl == MOA_IMPL_NAIVE ? moa::AttentionImpl::kNaive
                                               : moa::AttentionImpl::kFused;
      o.block_q = options->block_q;
      o.block_k = options->block_k;
      o.kv_splits = options->kv_splits;
    }
    moa::Attention(ToTensor(*q), ToTensor(*k), ToTensor(*v), ToTensor(*out), o);
    return MOA_OK;
  } catch (const moa::Error& e) {
    last_error = e.what();
    return MOA_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    last_error = e.what();
    return MOA_INTERNAL_ERROR;
  } catch (...) {
    last_error = "moa_attention: unknown internal error";
    return MOA_INTERNAL_ERROR;
  }
}

const char* moa_last_error(void) { return last_error.c_str(); }

}  // extern "C"
