// moa — runtime attention (stage: kernels, CPU SIMD through Google Highway).
// In: a validated AttentionProblem (kernels/attention_problem.h) with caller-owned scratch.
// Out: the attention output (and log-sum-exp) written through the problem's strides.
//
// The fused kernel is the lifted ONF of DESIGN.md: the query axis is lifted into blocks of bq rows
// (one task each, over threads), the key axis into tiles of bk rows, and the softmax reduction over
// keys is carried across tiles by the online-softmax state (m, z, o) of each query row. Per tile:
// S = (q * scale) K^T on packed tiles, mask, m' = max(m, rowmax S), P = exp(S - m'), z and o
// rescaled by exp(m - m'), o += P V. Nothing larger than a tile is ever allocated.
//
// The naive kernel materialises S (nq x nk) for one head at a time in three passes — GEMM,
// softmax, GEMM — built from the same micro-kernels, so the two differ only in memory traffic.
//
// This file is compiled once per SIMD target (foreach_target.h) and dispatched at run time, so one
// binary runs with AVX-512, AVX2 or the portable EMU128 target. bfloat16 inputs are widened to
// float32 while packing, so they take the float32 path (fp32 accumulation).

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/attention_hwy.cc"
// SSSE3/SSE4 add nothing over the portable target for this kernel worth their compile time, and
// AVX3_DL adds nothing over AVX3 for float FMA; AVX2 stays for machines without AVX-512.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_AVX3_DL)
#endif
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "kernels/attention_problem.h"
#include "kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace moa::internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Vectors per micro-kernel row: AVX-512 has 32 registers, so 4 rows x 4 vectors of accumulators
// plus 4 loaded vectors and a broadcast fit; targets with 16 registers use 4 rows x 2 vectors.
#if HWY_TARGET <= HWY_AVX3
constexpr size_t kNV = 4;
#else
constexpr size_t kNV = 2;
#endif
constexpr int64_t kRows = 4;  // rows per micro-kernel call; query tiles are padded to it

// Element access: bfloat16 travels as its 16 bits (uint16_t).
template <typename A>
HWY_INLINE A Widen(double x) { return static_cast<A>(x); }
template <typename A>
HWY_INLINE A Widen(float x) { return static_cast<A>(x); }
template <typename A>
HWY_INLINE A Widen(uint16_t x) {
  const uint32_t bits = static_cast<uint32_t>(x) << 16;  // bfloat16 is the top half of a float
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return static_cast<A>(f);
}
template <typename A>
HWY_INLINE A Widen(uint8_t x) { return static_cast<A>(x); }

template <typename Out, typename A>
HWY_INLINE void Narrow(A x, Out* dst) {
  if constexpr (std::is_same_v<Out, uint16_t>) {
    *dst = BFloat16FromFloat(static_cast<float>(x));
  } else {
    *dst = static_cast<Out>(x);
  }
}

// S[r][0 .. NV*N) = sum_c Q[r][c] * Kt[c][0 .. NV*N) for r < 4: broadcast one q element, stream
// one row of the packed K^T chunk. Both inner strides are 1: no K^T is ever materialised beyond
// the packed tile (MOA_RULES worked example 4).
template <size_t NV, class D, typename A>
HWY_INLINE void ScoreMicro(D d, const A* HWY_RESTRICT q, int64_t dk, const A* HWY_RESTRICT kt,
                           int64_t ldk, A* HWY_RESTRICT s, int64_t lds) {
  const size_t N = hn::Lanes(d);
  using V = hn::Vec<D>;
  V acc[kRows][NV];
  for (int64_t r = 0; r < kRows; ++r)
    for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::Zero(d);
  for (int64_t c = 0; c < dk; ++c) {
    V kv[NV];
    for (size_t v = 0; v < NV; ++v) kv[v] = hn::Load(d, kt + c * ldk + v * N);
    for (int64_t r = 0; r < kRows; ++r) {
      const V qb = hn::Set(d, q[r * dk + c]);
      for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::MulAdd(qb, kv[v], acc[r][v]);
    }
  }
  for (int64_t r = 0; r < kRows; ++r)
    for (size_t v = 0; v < NV; ++v) hn::StoreU(acc[r][v], d, s + r * lds + v * N);
}

// O[r][0 .. NV*N) += sum_j P[r][j] * V[j][0 .. NV*N) for r < 4.
template <size_t NV, class D, typename A>
HWY_INLINE void PvMicro(D d, const A* HWY_RESTRICT p, int64_t ldp, int64_t cols,
                        const A* HWY_RESTRICT vt, int64_t ldv, A* HWY_RESTRICT o, int64_t ldo) {
  const size_t N = hn::Lanes(d);
  using V = hn::Vec<D>;
  V acc[kRows][NV];
  for (int64_t r = 0; r < kRows; ++r)
    for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::Load(d, o + r * ldo + v * N);
  for (int64_t j = 0; j < cols; ++j) {
    V vv[NV];
    for (size_t v = 0; v < NV; ++v) vv[v] = hn::Load(d, vt + j * ldv + v * N);
    for (int64_t r = 0; r < kRows; ++r) {
      const V pb = hn::Set(d, p[r * ldp + j]);
      for (size_t v = 0; v < NV; ++v) acc[r][v] = hn::MulAdd(pb, vv[v], acc[r][v]);
    }
  }
  for (int64_t r = 0; r < kRows; ++r)
    for (size_t v = 0; v < NV; ++v) hn::Store(acc[r][v], d, o + r * ldo + v * N);
}

// S (rows_pad x cols_pad, leading dimension lds) = Q (rows_pad x dk) * Kt (dk x cols_pad).
// Chunks of keys outermost so one K^T chunk (dk x NV*N) stays in L1 across all row groups.
template <class D, typename A>
void ScoreTile(D d, const A* q, int64_t rows_pad, int64_t dk, const A* kt, int64_t ldk,
               int64_t cols_pad, A* s, int64_t lds) {
  const int64_t chunk = static_cast<int64_t>(kNV * hn::Lanes(d));
  for (int64_t j = 0; j < cols_pad; j += chunk) {
    for (int64_t r = 0; r < rows_pad; r += kRows) {
      ScoreMicro<kNV>(d, q + r * dk, dk, kt + j, ldk, s + r * lds + j, lds);
    }
  }
}

// O (rows_pad x dv_pad) += P (rows_pad x cols) * Vt (cols x dv_pad).
template <class D, typename A>
void PvTile(D d, const A* p, int64_t ldp, int64_t rows_pad, int64_t cols, const A* vt,
            int64_t dv_pad, A* o) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t chunk = static_cast<int64_t>(kNV) * N;
  for (int64_t r = 0; r < rows_pad; r += kRows) {
    int64_t e = 0;
    for (; e + chunk <= dv_pad; e += chunk) {
      PvMicro<kNV>(d, p + r * ldp, ldp, cols, vt + e, dv_pad, o + r * dv_pad + e, dv_pad);
    }
    for (; e < dv_pad; e += N) {
      PvMicro<1>(d, p + r * ldp, ldp, cols, vt + e, dv_pad, o + r * dv_pad + e, dv_pad);
    }
  }
}

// The caller's element types, as template parameters, and the accumulator type A.
template <typename In, typename A, typename Out>
struct Kernel {
  const AttentionProblem& p;
  TileLayout t;
  hn::ScalableTag<A> d;
  int64_t chunk;  // key granularity of the score micro-kernel

  explicit Kernel(const AttentionProblem& problem)
      : p(problem), t(MakeTileLayout(problem)), chunk(static_cast<int64_t>(kNV * hn::Lanes(d))) {}

  A* Tile(int worker, size_t off) const {
    return reinterpret_cast<A*>(p.scratch + p.scratch_per_thread * worker + off);
  }

  // Q rows [i0, i0 + rows) of head (b, h), times scale, into q (bq_pad x dk); padding rows are 0.
  void PackQ(int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t rows_pad, A* q) const {
    const In* base = static_cast<const In*>(p.q) + b * p.qs[0] + h * p.qs[1];
    const A scale = static_cast<A>(p.scale);
    for (int64_t r = 0; r < rows; ++r) {
      const In* row = base + (i0 + r) * p.qs[2];
      for (int64_t c = 0; c < p.dk; ++c) q[r * p.dk + c] = Widen<A>(row[c * p.qs[3]]) * scale;
    }
    std::fill(q + rows * p.dk, q + rows_pad * p.dk, A(0));
  }

  // K rows [j0, j0 + cols) of kv head hk, transposed into kt (dk x bk); columns up to cols_pad are 0.
  void PackKt(int64_t b, int64_t hk, int64_t j0, int64_t cols, int64_t cols_pad, A* kt) const {
    const In* base = static_cast<const In*>(p.k) + b * p.ks[0] + hk * p.ks[1];
    for (int64_t j = 0; j < cols; ++j) {
      const In* row = base + (j0 + j) * p.ks[2];
      for (int64_t c = 0; c < p.dk; ++c) kt[c * t.bk + j] = Widen<A>(row[c * p.ks[3]]);
    }
    for (int64_t c = 0; c < p.dk; ++c) std::fill(kt + c * t.bk + cols, kt + c * t.bk + cols_pad, A(0));
  }

  // V rows [j0, j0 + cols) into vt (bk x dv_pad); padding columns and rows up to cols_pad are 0,
  // so padded keys (probability 0) multiply zeros, never uninitialised memory.
  void PackV(int64_t b, int64_t hk, int64_t j0, int64_t cols, int64_t cols_pad, A* vt) const {
    const In* base = static_cast<const In*>(p.v) + b * p.vs[0] + hk * p.vs[1];
    for (int64_t j = 0; j < cols; ++j) {
      const In* row = base + (j0 + j) * p.vs[2];
      A* dst = vt + j * t.dv_pad;
      for (int64_t e = 0; e < p.dv; ++e) dst[e] = Widen<A>(row[e * p.vs[3]]);
      std::fill(dst + p.dv, dst + t.dv_pad, A(0));
    }
    std::fill(vt + cols * t.dv_pad, vt + cols_pad * t.dv_pad, A(0));
  }

  template <typename M>
  void MaskRowTyped(int64_t b, int64_t h, int64_t i, int64_t j0, int64_t allowed, A* s) const {
    const M* row = static_cast<const M*>(p.mask) + b * p.ms[0] + h * p.ms[1] + i * p.ms[2];
    const A neg_inf = -std::numeric_limits<A>::infinity();
    for (int64_t j = 0; j < allowed; ++j) {
      const M m = row[(j0 + j) * p.ms[3]];
      if constexpr (std::is_same_v<M, uint8_t>) {
        if (!m) s[j] = neg_inf;
      } else {
        s[j] += Widen<A>(m);
      }
    }
  }

  // Applies causal limit, the user's mask and the tile's padding to one score row (query i, keys
  // j0 .. j0 + cols_pad): forbidden scores become -inf, so exp() gives exactly 0 for them.
  void MaskRow(int64_t b, int64_t h, int64_t i, int64_t j0, int64_t cols, int64_t cols_pad,
               A* s) const {
    int64_t allowed = cols;
    if (p.causal) allowed = std::clamp<int64_t>(i + p.causal_offset - j0 + 1, 0, cols);
    std::fill(s + allowed, s + cols_pad, -std::numeric_limits<A>::infinity());
    if (p.mask == nullptr) return;
    switch (p.mask_dtype) {
      case DType::kBool: MaskRowTyped<uint8_t>(b, h, i, j0, allowed, s); break;
      case DType::kFloat64: MaskRowTyped<double>(b, h, i, j0, allowed, s); break;
      case DType::kFloat32: MaskRowTyped<float>(b, h, i, j0, allowed, s); break;
      case DType::kBFloat16: MaskRowTyped<uint16_t>(b, h, i, j0, allowed, s); break;
    }
  }

  A RowMax(const A* s, int64_t cols_pad) const {
    const int64_t N = static_cast<int64_t>(hn::Lanes(d));
    auto mx = hn::Set(d, -std::numeric_limits<A>::infinity());
    for (int64_t j = 0; j < cols_pad; j += N) mx = hn::Max(mx, hn::LoadU(d, s + j));
    return hn::GetLane(hn::MaxOfLanes(d, mx));
  }

  // s[j] = exp(s[j] - ref) in place; returns the sum. ref is finite, so masked (-inf) scores give 0.
  A ExpRow(A* s, int64_t cols_pad, A ref) const {
    const int64_t N = static_cast<int64_t>(hn::Lanes(d));
    const auto vref = hn::Set(d, ref);
    auto sum = hn::Zero(d);
    for (int64_t j = 0; j < cols_pad; j += N) {
      const auto e = hn::Exp(d, hn::Sub(hn::LoadU(d, s + j), vref));
      hn::StoreU(e, d, s + j);
      sum = hn::Add(sum, e);
    }
    return hn::GetLane(hn::SumOfLanes(d, sum));
  }

  // Writes rows of the normalised accumulator o (scaled by 1/z, or 0 for fully masked rows) and LSE.
  void WriteRows(int64_t b, int64_t h, int64_t i0, int64_t rows, const A* o, const A* m,
                 const A* z, bool write_lse) const {
    Out* base = static_cast<Out*>(p.o) + b * p.os[0] + h * p.os[1];
    for (int64_t r = 0; r < rows; ++r) {
      const A inv = z[r] > 0 ? A(1) / z[r] : A(0);
      Out* row = base + (i0 + r) * p.os[2];
      for (int64_t e = 0; e < p.dv; ++e) Narrow<Out>(o[r * t.dv_pad + e] * inv, row + e * p.os[3]);
      if (write_lse && p.lse) {
        const A lse = z[r] > 0 ? m[r] + std::log(z[r]) : -std::numeric_limits<A>::infinity();
        static_cast<A*>(p.lse)[b * p.lse_s[0] + h * p.lse_s[1] + (i0 + r) * p.lse_s[2]] = lse;
      }
    }
  }

  // One task of the fused kernel: query block qb of head (b, h).
  void FusedTask(int64_t b, int64_t h, int64_t qb, int worker) const {
    const int64_t hk = h / (p.q_heads / p.kv_heads);  // GQA: shared key/value head, no copy
    const int64_t i0 = qb * p.bq, rows = std::min(p.bq, p.nq - i0);
    const int64_t rows_pad = RoundUpTo(rows, kRows);
    A* q = Tile(worker, t.q_off);
    A* kt = Tile(worker, t.kt_off);
    A* vt = Tile(worker, t.v_off);
    A* s = Tile(worker, t.s_off);
    A* o = Tile(worker, t.o_off);
    A* m = Tile(worker, t.m_off);
    A* z = Tile(worker, t.z_off);
    PackQ(b, h, i0, rows, rows_pad, q);
    std::fill(o, o + rows_pad * t.dv_pad, A(0));
    std::fill(m, m + rows_pad, -std::numeric_limits<A>::infinity());
    std::fill(z, z + rows_pad, A(0));
    // Under a causal mask the block's last row sees keys < i0 + rows + offset; later tiles are
    // skipped entirely (half the work for a square causal problem).
    int64_t key_end = p.nk;
    if (p.causal) key_end = std::clamp<int64_t>(i0 + rows + p.causal_offset, 0, p.nk);
    for (int64_t j0 = 0; j0 < key_end; j0 += t.bk) {
      const int64_t cols = std::min(t.bk, key_end - j0);
      const int64_t cols_pad = RoundUpTo(cols, chunk);
      PackKt(b, hk, j0, cols, cols_pad, kt);
      PackV(b, hk, j0, cols, cols_pad, vt);
      ScoreTile(d, q, rows_pad, p.dk, kt, t.bk, cols_pad, s, t.bk);
      for (int64_t r = 0; r < rows_pad; ++r) {
        A* srow = s + r * t.bk;
        if (r < rows) {
          MaskRow(b, h, i0 + r, j0, cols, cols_pad, srow);
        } else {
          std::fill(srow + cols, srow + cols_pad, -std::numeric_limits<A>::infinity());
        }
        const A m_new = std::max(m[r], RowMax(srow, cols_pad));
        // A row with every score so far masked keeps m = -inf; exp against 0 then yields zeros
        // instead of exp(-inf - -inf) = NaN.
        const A ref = m_new == -std::numeric_limits<A>::infinity() ? A(0) : m_new;
        const A alpha = std::exp(m[r] - ref);
        const A sum = ExpRow(srow, cols_pad, ref);
        z[r] = z[r] * alpha + sum;
        m[r] = m_new;
        if (alpha != A(1)) {
          A* orow = o + r * t.dv_pad;
          for (int64_t e = 0; e < t.dv_pad; ++e) orow[e] *= alpha;
        }
      }
      PvTile(d, s, t.bk, rows_pad, cols_pad, vt, t.dv_pad, o);
    }
    WriteRows(b, h, i0, rows, o, m, z, /*write_lse=*/true);
  }

  void RunFused() const {
    const int64_t qblocks = RoundUpTo(p.nq, p.bq) / p.bq;
    const int64_t per_batch = p.q_heads * qblocks;
    ParallelFor(p.batch * per_batch, p.num_threads, [&](int64_t task, int worker) {
      FusedTask(task / per_batch, (task % per_batch) / qblocks, task % qblocks, worker);
    });
  }

  // The naive path: for each head, S = scale q k^T over all nq x nk (GEMM), then a row softmax
  // that overwrites S with P (materialised), then O = P V (GEMM). Each pass is parallel over query
  // blocks; the passes are separated as in an unfused framework.
  void RunNaive() const {
    const int64_t qblocks = RoundUpTo(p.nq, p.bq) / p.bq;
    A* smat = static_cast<A*>(p.s_matrix);
    const int64_t lds = p.s_stride;
    for (int64_t b = 0; b < p.batch; ++b) {
      for (int64_t h = 0; h < p.q_heads; ++h) {
        const int64_t hk = h / (p.q_heads / p.kv_heads);
        ParallelFor(qblocks, p.num_threads, [&](int64_t qb, int worker) {
          const int64_t i0 = qb * p.bq, rows = std::min(p.bq, p.nq - i0);
          const int64_t rows_pad = RoundUpTo(rows, kRows);
          A* q = Tile(worker, t.q_off);
          A* kt = Tile(worker, t.kt_off);
          PackQ(b, h, i0, rows, rows_pad, q);
          for (int64_t j0 = 0; j0 < p.nk; j0 += t.bk) {
            const int64_t cols = std::min(t.bk, p.nk - j0);
            const int64_t cols_pad = RoundUpTo(cols, chunk);
            PackKt(b, hk, j0, cols, cols_pad, kt);
            ScoreTile(d, q, rows_pad, p.dk, kt, t.bk, cols_pad, smat + i0 * lds + j0, lds);
          }
        });
        ParallelFor(qblocks, p.num_threads, [&](int64_t qb, int worker) {
          const int64_t i0 = qb * p.bq, rows = std::min(p.bq, p.nq - i0);
          A* m = Tile(worker, t.m_off);
          A* z = Tile(worker, t.z_off);
          const int64_t nk_pad = RoundUpTo(p.nk, chunk);
          for (int64_t r = 0; r < rows; ++r) {
            A* srow = smat + (i0 + r) * lds;
            MaskRow(b, h, i0 + r, 0, p.nk, nk_pad, srow);
            const A mx = RowMax(srow, nk_pad);
            const A ref = mx == -std::numeric_limits<A>::infinity() ? A(0) : mx;
            const A sum = ExpRow(srow, nk_pad, ref);
            const A inv = sum > 0 ? A(1) / sum : A(0);
            for (int64_t j = 0; j < nk_pad; ++j) srow[j] *= inv;
            m[r] = mx;
            z[r] = sum;
          }
          if (p.lse) {
            for (int64_t r = 0; r < rows; ++r) {
              const A lse = z[r] > 0 ? m[r] + std::log(z[r]) : -std::numeric_limits<A>::infinity();
              static_cast<A*>(p.lse)[b * p.lse_s[0] + h * p.lse_s[1] + (i0 + r) * p.lse_s[2]] = lse;
            }
          }
          // Padding rows of the last block are read by the 4-row PV micro-kernel; make them 0.
          for (int64_t r = rows; r < RoundUpTo(rows, kRows); ++r) {
            std::fill(smat + (i0 + r) * lds, smat + (i0 + r) * lds + nk_pad, A(0));
          }
        });
        ParallelFor(qblocks, p.num_threads, [&](int64_t qb, int worker) {
          const int64_t i0 = qb * p.bq, rows = std::min(p.bq, p.nq - i0);
          const int64_t rows_pad = RoundUpTo(rows, kRows);
          A* vt = Tile(worker, t.v_off);
          A* o = Tile(worker, t.o_off);
          A* m = Tile(worker, t.m_off);
          A* z = Tile(worker, t.z_off);
          std::fill(o, o + rows_pad * t.dv_pad, A(0));
          for (int64_t j0 = 0; j0 < p.nk; j0 += t.bk) {
            const int64_t cols = std::min(t.bk, p.nk - j0);
            const int64_t cols_pad = RoundUpTo(cols, chunk);
            PackV(b, hk, j0, cols, cols_pad, vt);
            PvTile(d, smat + i0 * lds + j0, lds, rows_pad, cols_pad, vt, t.dv_pad, o);
          }
          // P is already normalised: write with z = 1 (0 for fully masked rows, whose P is 0).
          std::fill(z, z + rows, A(1));
          WriteRows(b, h, i0, rows, o, m, z, /*write_lse=*/false);
        });
      }
    }
  }
};

template <typename In, typename A, typename Out>
void Dispatch(const AttentionProblem& p, bool naive) {
  Kernel<In, A, Out> kernel(p);
  if (naive) {
    kernel.RunNaive();
  } else {
    kernel.RunFused();
  }
}

void RunAttention(const AttentionProblem& p, bool naive) {
  switch (p.in) {
    case DType::kFloat64: Dispatch<double, double, double>(p, naive); break;
    case DType::kFloat32: Dispatch<float, float, float>(p, naive); break;
    case DType::kBFloat16:
      if (p.out == DType::kFloat32) {
        Dispatch<uint16_t, float, float>(p, naive);
      } else {
        Dispatch<uint16_t, float, uint16_t>(p, naive);
      }
      break;
    case DType::kBool: break;  // rejected by the API layer
  }
}

const char* TargetNameOfThisCode() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace moa::internal
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace moa::internal {

HWY_EXPORT(RunAttention);
HWY_EXPORT(TargetNameOfThisCode);

const char* AttentionTargetName() { return HWY_DYNAMIC_DISPATCH(TargetNameOfThisCode)(); }

void RunFusedAttention(const AttentionProblem& p) { HWY_DYNAMIC_DISPATCH(RunAttention)(p, false); }
void RunNaiveAttention(const AttentionProblem& p) { HWY_DYNAMIC_DISPATCH(RunAttention)(p, true); }

}  // namespace moa::internal
#endif  // HWY_ONCE
