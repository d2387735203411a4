/* moa — runtime attention, plain C ABI (stage: kernels, public API).
 * In: moa_tensor views (data pointer, dtype, sizes and strides in elements, logical order
 * (batch, heads, seq, dim)) and moa_attention_options. Out: the output written in place; a status
 * code, with the message of the last failure on this thread from moa_last_error().
 * Semantics are those of moa::Attention in moa/attention.h; no C++ exception crosses this ABI. */
#ifndef MOA_C_API_H_
#define MOA_C_API_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum moa_dtype {
  MOA_FLOAT64 = 0,
  MOA_FLOAT32 = 1,
  MOA_BFLOAT16 = 2, /* stored as the upper 16 bits of a float32 */
  MOA_BOOL = 3      /* one byte per element, nonzero = true */
} moa_dtype;

typedef struct moa_tensor {
  void* data;
  int32_t dtype; /* a moa_dtype value; a fixed-size field, so any int is a checked error */
  int32_t rank; /* 4 for q, k, v, out; 3 for lse; 1 to 4 for masks (right-aligned) */
  int64_t sizes[4];
  int64_t strides[4]; /* in elements */
} moa_tensor;

typedef enum moa_impl { MOA_IMPL_FUSED = 0, MOA_IMPL_NAIVE = 1 } moa_impl;

/* impl: a moa_impl value (int32_t for the same reason as moa_tensor.dtype). */
typedef struct moa_attention_options {
  int32_t has_scale; /* 0: scale = 1/sqrt(dk) */
  double scale;
  int32_t is_causal;
  int32_t causal_bottom_right; /* 0: top-left (PyTorch), 1: bottom-right (FlashAttention) */
  const moa_tensor* mask;      /* NULL: none */
  const moa_tensor* lse;       /* NULL: not wanted */
  int32_t num_threads;         /* 0: OMP_NUM_THREADS, else the cores the process may use */
  int32_t impl;
  int64_t block_q; /* query rows per task, a multiple of 64; 0: the cost model's choice */
  int64_t block_k; /* key/value rows per tile, a multiple of 32; 0: the cost model's choice */
  int64_t kv_splits; /* split-KV ranges per query block; 0: automatic (see AttentionOptions) */
} moa_attention_options;

enum { MOA_OK = 0, MOA_INVALID_ARGUMENT = 1, MOA_INTERNAL_ERROR = 2 };

/* Fills the defaults: no scale, not causal, no mask, no lse, default threads, fused, blocks from
 * the cost model. */
void moa_attention_options_init(moa_attention_options* options);

/* out = softmax(q k^T * scale + mask) v. options may be NULL (defaults). Returns MOA_OK, or
 * MOA_INVALID_ARGUMENT / MOA_INTERNAL_ERROR with the reason in moa_last_error(). */
int moa_attention(const moa_tensor* q, const moa_tensor* k, const moa_tensor* v,
                  const moa_tensor* out, const moa_attention_options* options);

/* The message of the last failed call on this thread ("" if none); valid until the next call. */
const char* moa_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* MOA_C_API_H_ */
