// moa lift — the one-pass, lifted form of a softmax-weighted sum. In: a DNF output of the shape
//   <f… i j> ψ out = Σ_l exp(A(i,l) − M(i)) · B(l,j) / Z(i),
//   M(i) = max_l A(i,l),  Z(i) = Σ_l exp(A(i,l) − M(i))
// (attention, and every masked/causal/batched variant of it). Out: an ONF that makes one pass
// over l with the online-softmax monoid on (m, z, o) — associative, so the l axis may be lifted:
//   m' = max(m, a),  z' = z·e^{m−m'} + e^{a−m'},  o' = o·e^{m−m'} + e^{a−m'}·B
// — with the query axis lifted to ⟨⌈n/Bq⌉ Bq⌉ and the key axis to ⟨⌈m/Bk⌉ Bk⟩ (dimension lifting:
// i = io·Bq + ii moves no data, it only reshapes the loops), tails guarded, and the state of the
// Bq rows of a query block held in declared tiles: Bq + Bq + Bq·dv elements, whatever n and m are.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "dnf/dnf.h"
#include "onf/onf.h"

namespace moa::lift {

struct Tiles {
  int64_t query = 64;  // Bq: query rows sharing each key/value tile
  int64_t key = 64;    // Bk: keys per tile
  // S: split-KV. The key-tile axis is lifted once more, to ⟨⌈m/(S·Bk)⌉ S Bk⟩, and each of the S
  // ranges folds its keys into a state of its own (tiles of S·(Bq + Bq + Bq·dv) elements), which
  // the monoid then combines, range by range, into each row's output. The ranges are independent
  // until the combination: the runtime kernels give them to different threads when there are too
  // few query blocks to go round (decoding).
  int64_t splits = 1;
};

// The parts of a softmax-weighted sum; nullopt (with `why`) when `out` does not have that form.
struct SoftmaxSum {
  std::string key_var;   // l, bound in `score` and `value`
  Extent keys;           // the extent of l
  dnf::Scalar score;     // A(i, l)
  dnf::Scalar value;     // B(l, j)
};
std::optional<SoftmaxSum> MatchSoftmaxSum(const dnf::Output& out, std::string* why);

// Throws moa::Error naming what does not match when an output is not a softmax-weighted sum,
// or when a tile size or the split count is < 1.
onf::Onf LowerOnePass(const dnf::Dnf& dnf, Tiles tiles, const std::map<std::string, Layout>& layouts = {});

}  // namespace moa::lift
