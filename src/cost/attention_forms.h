// moa cost — the three attention programs the cost model compares, as ONF loop nests (stage: cost).
// In: nothing but the choice of form. Out: an onf::Onf over sizes n, m, dk, dv (and the tile
// sizes of the lifted form), which footprint.h costs and the ONF interpreter can run (the tests
// check all three against each other).
//
//  naive   — what most code does: S = q·kᵀ/√dk and P = softmax(S) materialised (n×m each):
//              for ib < ngb, l < m, ii < Bg: S[i,l] = Σ_c q[i,c]·k[l,c] / √dk   (i = ib·Bg+ii)
//              for i: M = max_l S[i,l]; for l: P[i,l] = exp(S[i,l] − M); Z = Σ_l P[i,l];
//                     for l: P[i,l] = P[i,l] / Z
//              out = 0; for ib < ngb, l < m, ii < Bg, j < dv: out[i,j] += P[i,l]·v[l,j]
//            The two GEMMs are blocked by Bg = 64 query rows (n padded to a multiple), one level
//            of the blocking a library GEMM does; a BLAS blocks further for L1 and registers,
//            so the naive L1/L2 traffic here is above a tuned library's, its DRAM traffic (S and
//            P, 4 passes over n·m) is not.
//  dnf     — the paper's three-pass DNF exactly as dnf::Derive + onf::Lower produce it (pass 1 the
//            row max, pass 2 the normaliser, pass 3 the weighted sum, S recomputed in each; the
//            lowered pass 3 iterates j outside l, so it recomputes each score dv times).
//  lifted  — one pass with the online-softmax monoid, i lifted to <nqb Bq> and l to <nkb Bk>
//            (dimension lifting, MOA_RULES.md), tiles in scratch buffers:
//              for qb < nqb:
//                for qi < Bq: mrow[qi] = −∞; zrow[qi] = 0; oacc[qi,:] = 0
//                for kb < nkb:
//                  for qi < Bq, kl < Bk: s[qi,kl] = Σ_c q[qb·Bq+qi, c]·k[kb·Bk+kl, c] / √dk
//                  for qi < Bq:
//                    mx = max(mrow[qi], max_kl s[qi,kl]); corr = exp(mrow[qi] − mx)
//                    for kl: s[qi,kl] = exp(s[qi,kl] − mx); rs += s[qi,kl]
//                    zrow[qi] = zrow[qi]·corr + rs
//                    for j < dv: oacc[qi,j] = oacc[qi,j]·corr + Σ_kl s[qi,kl]·v[kb·Bk+kl, j]
//                    mrow[qi] = mx
//                for qi < Bq, j < dv: out[qb·Bq+qi, j] = oacc[qi,j] / zrow[qi]
//            Tails are not guarded: n and m are taken as nqb·Bq and nkb·Bk (padded), which is
//            what the costing of a tail that is rounded up means.
//  lifted, kernel order — the same one-pass computation in the order the fused float32/float64
//            SIMD kernels run it (cpu/attention_hwy.cc, SimdTile), the query block further
//            lifted into chunks <nqc Bc> of the Bc queries one micro-kernel call covers:
//              for qb < nqb: (init m, z, O^T <dv Bq>)
//                for kb < nkb, qc < nqc:
//                  for kl < Bk, ci < Bc: s[kl,ci] = Σ_c q[row, c]·k[key, c] / √dk
//                  for ci < Bc: online-softmax step on s[:, ci] (c[ci] = e^{m - m'})
//                  for j < dv: oacc[j, qi] *= c[ci]; for kl, ci: oacc[j, qi] += s[kl,ci]·v[key, j]
//                (finish as above)
//            Same counts as lifted; different reuse. A key step reuses the chunk's q slab
//            (Bc·dk), a P·V column the chunk's scores (Bk·Bc): what must stay in L1 is those, not
//            a whole K or V tile as in lifted's per-query-row loops. This is the form the
//            kernels' block choice costs (kernels/machine.cc).
#pragma once

#include <cstdint>
#include <string>

#include "onf/onf.h"

namespace moa::cost {

enum class Form { kNaive, kDnf, kLifted, kLiftedChunks };
const char* FormName(Form form);
// The one-pass form for query chunks of `chunk` queries: kLiftedChunks, or for 0 kLifted (the
// lifted ONF as src/lift derives it).
inline Form LiftedForm(int64_t chunk) { return chunk > 0 ? Form::kLiftedChunks : Form::kLifted; }

// The ONF of `form` for one head: inputs q <n dk>, k <m dk>, v <m dv>, output out <n dv>;
// naive adds buffers S, P <n m> and the GEMM block sizes Bg, ngb; lifted adds s <Bq Bk>, oacc <Bq dv>, mrow, zrow <Bq> and uses the
// sizes nqb and nkb (number of query and key tiles); lifted in kernel order adds s <Bk Bc>,
// oacc <dv Bq>, mrow, zrow <Bq>, crow <Bc> and uses nqb, nkb, nqc.
onf::Onf AttentionOnf(Form form);

// The sizes the ONF of `form` needs: n, m, dk, dv, and for lifted Bq, Bk, nqb = ⌈n/Bq⌉,
// nkb = ⌈m/Bk⌉ (n and m are then the padded sizes nqb·Bq, nkb·Bk); naive Bg = min(n, 64);
// lifted, kernel order also Bc (which must divide Bq) and nqc = Bq/Bc.
Bindings AttentionSizes(Form form, int64_t n, int64_t m, int64_t dk, int64_t dv, int64_t bq = 0,
                        int64_t bk = 0, int64_t bc = 0);

}  // namespace moa::cost
