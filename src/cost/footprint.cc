// moa cost — operation counts and footprint-model cache traffic of an ONF loop nest.
#include "cost/footprint.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "moa/error.h"
#include "moa/shape.h"

namespace moa::cost {
namespace {

using dnf::SKind;

struct Access {
  std::string array;
  dnf::Affine offset;
  bool store = false;
};

// The loop nest as a tree: the root is a sequence, loops have bodies, statements are leaves.
struct Node {
  enum Kind { kSeq, kLoop, kLeaf } kind = kSeq;
  std::string var;
  int64_t trip = 1;
  std::vector<Node> children;
  std::vector<Access> accesses;
};

void CollectLoads(const dnf::Scalar& s, std::vector<Access>* out) {
  if (s->kind == SKind::kLoad) {
    InternalCheck(s->flat, "the cost model needs an ONF (flat loads), got a DNF load of ", s->name);
    out->push_back(Access{s->name, s->offset, false});
  }
  for (const dnf::Scalar& a : s->args) CollectLoads(a, out);
}

// Iterations of an ONF loop: ⌈extent / divisor⌉ (a lifted outer axis runs over whole tiles).
int64_t Trip(const onf::Stmt& s, const Bindings& sizes) {
  const int64_t extent = s.extent.Evaluate(sizes);
  UserCheck(extent >= 0, "loop over ", s.name, " has negative extent ", extent);
  return (extent + s.divisor - 1) / s.divisor;
}

Node Build(const onf::Stmt& s, const Bindings& sizes) {
  Node n;
  if (s.kind == onf::StmtKind::kLoop) {
    n.kind = Node::kLoop;
    n.var = s.name;
    n.trip = Trip(s, sizes);
    for (const onf::Stmt& b : s.body) n.children.push_back(Build(b, sizes));
    return n;
  }
  if (s.kind == onf::StmtKind::kGuard) {
    // The tail guard of a lifted axis: costed as if always true, i.e. the padded tile.
    n.kind = Node::kSeq;
    Node condition;
    condition.kind = Node::kLeaf;
    CollectLoads(s.value, &condition.accesses);
    if (!condition.accesses.empty()) n.children.push_back(condition);
    for (const onf::Stmt& b : s.body) n.children.push_back(Build(b, sizes));
    return n;
  }
  n.kind = Node::kLeaf;
  CollectLoads(s.value, &n.accesses);
  if (s.kind == onf::StmtKind::kStore) n.accesses.push_back(Access{s.name, s.offset, true});
  return n;
}

Node BuildRoot(const onf::Onf& onf, const Bindings& sizes, int64_t split) {
  Node root;
  for (const onf::Stmt& s : onf.body) {
    root.children.push_back(Build(s, sizes));
    Node& top = root.children.back();
    if (top.kind == Node::kLoop) top.trip = (top.trip + split - 1) / split;
  }
  return root;
}

// The elements of buffer `b`, refusing (moa::Error naming the sizes) a buffer past 2^62 bytes:
// below that, every offset, stride and line index the analysis forms from it fits in 64 bits.
// Past it they wrapped, and a wrapped offset range made the line listing below run away (moa
// cost --dk 10^18 grew to gigabytes).
int64_t AddressableElements(const onf::Buffer& b, const Bindings& sizes, int elem_bytes) {
  int64_t count = 1, bytes = 0;
  bool fits = true;
  for (const Extent& e : b.shape) {
    const int64_t x = e.Evaluate(sizes);
    UserCheck(x >= 0, "array '", b.name, "' has a negative extent ", e.ToString(), " = ", x);
    fits = fits && !__builtin_mul_overflow(count, x, &count);
  }
  fits = fits && !__builtin_mul_overflow(count, int64_t{elem_bytes}, &bytes) && bytes <= (int64_t{1} << 62);
  if (!fits) {
    std::string list;
    for (const auto& [name, value] : sizes) list += (list.empty() ? "" : ", ") + name + "=" + std::to_string(value);
    throw Error("sizes " + list + ": array '" + b.name + "' (" + ToString(b.shape) +
                ") would hold more than 2^62 bytes, past what any machine addresses; give smaller sizes");
  }
  return count;
}

// An access with the loops inside the node under study replaced by (|stride|, trip) pairs: two
// accesses with equal signatures touch the same elements.
struct Signature {
  std::vector<std::pair<int64_t, int64_t>> bound;  // sorted
  std::map<std::string, int64_t> fixed;            // variables of enclosing loops: stride
  int64_t constant = 0;
  bool operator<(const Signature& o) const {
    return std::tie(bound, fixed, constant) < std::tie(o.bound, o.fixed, o.constant);
  }
};

class Analyzer {
 public:
  Analyzer(const onf::Onf& onf, const Bindings& sizes, const CacheSpec& spec)
      : sizes_(sizes), spec_(spec) {
    UserCheck(spec.line > 0 && spec.elem_bytes > 0 && spec.outer_split > 0,
              "cache spec: line, element size and split must be positive");
    for (const onf::Buffer& b : onf.buffers) {
      const int64_t count = AddressableElements(b, sizes, spec.elem_bytes);
      array_lines_[b.name] = std::ceil(static_cast<double>(count) * spec.elem_bytes / spec.line);
      arrays_.push_back(b.name);
    }
    root_ = BuildRoot(onf, sizes, spec.outer_split);
  }

  const Node& root() const { return root_; }
  const std::vector<std::string>& arrays() const { return arrays_; }

  // Distinct lines of `array` touched by one execution of `x`; `own` binds x's own variable
  // (the whole loop) rather than fixing it (one iteration).
  double Lines(const Node& x, const std::string& array, bool own, bool stores_only) {
    const auto key = std::make_tuple(&x, own, array, stores_only);
    if (auto it = lines_memo_.find(key); it != lines_memo_.end()) return it->second;
    std::map<std::string, int64_t> bound;
    if (own && x.kind == Node::kLoop) bound[x.var] = x.trip;
    std::set<Signature> sigs;
    Collect(x, array, stores_only, &bound, &sigs, /*top=*/true);
    double lines = 0;
    for (const Signature& s : sigs) lines += SignatureLines(s);
    const auto cap = array_lines_.find(array);
    if (cap != array_lines_.end()) lines = std::min(lines, cap->second);
    lines_memo_[key] = lines;
    return lines;
  }

  // All arrays' lines x line size.
  double FootprintBytes(const Node& x, bool own) {
    double lines = 0;
    for (const std::string& a : arrays_) lines += Lines(x, a, own, false);
    return lines * spec_.line;
  }

  // Lines of `array` moved into (or, stores_only, written back from) the cache while x runs.
  // A loop keeps its reuse when one iteration's footprint stays in the cache (then the whole
  // loop moves its footprint once), a sequence when all of it does; `Lost` is the share of the
  // array's lines that do not stay (0 or 1 for a fully associative cache), and the cost is
  // interpolated between keeping all reuse and costing each iteration or statement alone.
  double TrafficLines(const Node& x, const std::string& array, bool stores_only) {
    if (x.kind == Node::kLeaf) return Lines(x, array, true, stores_only);
    const double whole = Lines(x, array, true, stores_only);
    const double lost = Lost(x, /*own=*/x.kind != Node::kLoop, array);
    if (lost == 0) return whole;
    double split = 0;
    for (const Node& c : x.children) split += TrafficLines(c, array, stores_only);
    if (x.kind == Node::kLoop) split *= static_cast<double>(x.trip);
    return whole + lost * std::max(0.0, split - whole);
  }

 private:
  // Share of `array`'s lines in x's footprint (own: the whole loop; else one iteration) that the
  // cache cannot keep. Fully associative (ways = 0): 0 when the footprint fits, else 1. With
  // ways, lines map to sets by address (arrays start on a page boundary, variables of enclosing
  // loops at 0; accesses of more than 2^14 lines spread evenly) and the lines of every set asked
  // to hold more than `ways` lines are lost: LRU keeps none of a cyclic set that overflows.
  double Lost(const Node& x, bool own, const std::string& array) {
    const bool fits = FootprintBytes(x, own) <= static_cast<double>(spec_.capacity);
    if (spec_.ways <= 0) return fits ? 0.0 : 1.0;
    const auto key = std::make_pair(&x, own);
    auto it = lost_memo_.find(key);
    if (it == lost_memo_.end()) it = lost_memo_.emplace(key, SetOverflow(x, own)).first;
    const auto found = it->second.find(array);
    return found == it->second.end() ? 0.0 : found->second;
  }

  // For one iteration of a loop (own = false), the lines are mapped at several iterations of
  // it and the lost shares averaged. Reuse across iterations is lost in a set when the lines
  // between two uses, i.e. one iteration's, outnumber its ways (an LRU set swept cyclically by
  // more lines than ways keeps none of them). One iteration's lines include tiles that stream
  // with the loop (the query block and output rows of the lifted form's query loop), which sit
  // in other sets at every iteration; placed only at iteration 0 they fall on the same sets as
  // the scratch tiles and overflow too few sets (cachegrind, lifted n = 1024 where K and V fill
  // exactly the 8-way 256 KiB LL: model/simulated 0.78 with iteration 0 only).
  std::map<std::string, double> SetOverflow(const Node& x, bool own) {
    if (own || x.kind != Node::kLoop || x.trip <= 1) return SetOverflowAt(x, own, 0);
    const int64_t samples = std::min<int64_t>(x.trip, kIterationSamples);
    std::map<std::string, double> mean;
    for (int64_t k = 0; k < samples; ++k) {
      for (const auto& [a, lost] : SetOverflowAt(x, own, k * x.trip / samples))
        mean[a] += lost / static_cast<double>(samples);
    }
    return mean;
  }

  // The set mapping with x's own variable at `iteration` (enclosing loops' variables at 0).
  std::map<std::string, double> SetOverflowAt(const Node& x, bool own, int64_t iteration) {
    const int64_t sets = std::max<int64_t>(1, spec_.capacity / (int64_t{spec_.line} * spec_.ways));
    std::vector<double> load(static_cast<size_t>(sets), 0.0);
    double even = 0;
    std::map<std::string, std::unordered_set<int64_t>> listed;
    std::map<std::string, double> spread;  // lines of accesses too large to list
    for (const std::string& a : arrays_) {
      std::map<std::string, int64_t> bound;
      if (own && x.kind == Node::kLoop) bound[x.var] = x.trip;
      std::set<Signature> sigs;
      Collect(x, a, false, &bound, &sigs, /*top=*/true);
      for (Signature sig : sigs) {
        if (const auto it = sig.fixed.find(x.var); it != sig.fixed.end() && x.kind == Node::kLoop)
          sig.constant += it->second * iteration;
        if (!ListLines(sig, &listed[a])) spread[a] += SignatureLines(sig);
      }
      double cap = array_lines_.count(a) ? array_lines_.at(a) : 0;
      const double spread_lines = std::min(spread[a], std::max(0.0, cap - listed[a].size()));
      spread[a] = spread_lines;
      even += spread_lines / static_cast<double>(sets);
      for (int64_t l : listed[a]) load[static_cast<size_t>(l % sets)] += 1;
    }
    double overflowing_sets = 0;
    for (double l : load) overflowing_sets += (l + even > spec_.ways) ? 1 : 0;
    std::map<std::string, double> out;
    for (const std::string& a : arrays_) {
      double lost = 0, total = 0;
      for (int64_t l : listed[a]) {
        total += 1;
        if (load[static_cast<size_t>(l % sets)] + even > spec_.ways) lost += 1;
      }
      total += spread[a];
      lost += spread[a] * overflowing_sets / static_cast<double>(sets);
      out[a] = total > 0 ? lost / total : 0.0;
    }
    return out;
  }

  // Adds the line indices of `sig` to `lines`; false (nothing added) when it has too many.
  bool ListLines(const Signature& sig, std::unordered_set<int64_t>* lines) const {
    if (SignatureLines(sig) > (1 << 14)) return false;
    int64_t run = 1;
    size_t k = 0;
    while (k < sig.bound.size() && sig.bound[k].first == run) {
      run *= sig.bound[k].second;
      ++k;
    }
    double runs = 1;
    for (size_t j = k; j < sig.bound.size(); ++j) runs *= static_cast<double>(sig.bound[j].second);
    if (runs > (1 << 14)) return false;
    std::vector<int64_t> idx(sig.bound.size() - k, 0);
    const int64_t eb = spec_.elem_bytes, line = spec_.line;
    for (;;) {
      int64_t offset = sig.constant;
      for (size_t j = 0; j < idx.size(); ++j) offset += sig.bound[k + j].first * idx[j];
      const int64_t first = offset * eb / line, last = ((offset + run) * eb - 1) / line;
      for (int64_t l = first; l <= last; ++l) lines->insert(l);
      size_t j = 0;
      while (j < idx.size() && ++idx[j] == sig.bound[k + j].second) idx[j++] = 0;
      if (j == idx.size()) break;
    }
    return true;
  }

  void Collect(const Node& x, const std::string& array, bool stores_only,
               std::map<std::string, int64_t>* bound, std::set<Signature>* sigs, bool top) {
    if (x.kind == Node::kLoop && !top) (*bound)[x.var] = x.trip;
    for (const Access& a : x.accesses) {
      if (a.array != array || (stores_only && !a.store)) continue;
      Signature s;
      s.constant = a.offset.offset().Evaluate(sizes_);
      for (const auto& [var, coef] : a.offset.terms()) {
        const int64_t c = coef.Evaluate(sizes_);
        if (c == 0) continue;
        const auto it = bound->find(var);
        if (it == bound->end()) {
          s.fixed[var] = c;
        } else if (it->second > 1) {
          s.bound.emplace_back(std::llabs(c), it->second);
        }
      }
      std::sort(s.bound.begin(), s.bound.end());
      sigs->insert(s);
    }
    for (const Node& c : x.children) Collect(c, array, stores_only, bound, sigs, false);
    if (x.kind == Node::kLoop && !top) bound->erase(x.var);
  }

  // Lines of one access over its box: the contiguous innermost dimensions merge into runs; runs
  // closer together than a line share lines, which the span bound catches.
  double SignatureLines(const Signature& s) const {
    const double eb = spec_.elem_bytes, line = spec_.line;
    int64_t run = 1;
    size_t k = 0;
    while (k < s.bound.size() && s.bound[k].first == run) {
      run *= s.bound[k].second;
      ++k;
    }
    double runs = 1, span = 1;
    for (size_t j = 0; j < s.bound.size(); ++j)
      span += static_cast<double>(s.bound[j].first) * static_cast<double>(s.bound[j].second - 1);
    for (size_t j = k; j < s.bound.size(); ++j) runs *= static_cast<double>(s.bound[j].second);
    const double per_run = std::ceil(static_cast<double>(run) * eb / line);
    return std::min(runs * per_run, std::ceil(span * eb / line));
  }

  // Iterations of a loop at which SetOverflow maps its lines (evenly spaced, the first included).
  static constexpr int64_t kIterationSamples = 8;

  Bindings sizes_;
  CacheSpec spec_;
  std::map<std::string, double> array_lines_;
  std::vector<std::string> arrays_;
  Node root_;
  std::map<std::tuple<const Node*, bool, std::string, bool>, double> lines_memo_;
  std::map<std::pair<const Node*, bool>, std::map<std::string, double>> lost_memo_;
};

// True when the scalar uses no load, named scalar or index: a compiler folds it once.
bool IsInvariant(const dnf::Scalar& s) {
  if (s->kind == SKind::kLoad || s->kind == SKind::kRef || s->kind == SKind::kIndex) return false;
  for (const dnf::Scalar& a : s->args)
    if (!IsInvariant(a)) return false;
  return true;
}

void CountScalar(const dnf::Scalar& s, double mult, int eb, OpCounts* c) {
  if (IsInvariant(s)) return;
  switch (s->kind) {
    case SKind::kLoad: c->loaded_bytes[s->name] += mult * eb; break;
    case SKind::kBinary:
    case SKind::kSelect: c->other_flops += mult; break;
    case SKind::kUnary:
      if (s->unary == UnaryOp::kExp) {
        c->exps += mult;
      } else {
        c->other_flops += mult;
      }
      break;
    case SKind::kFold: throw InternalError("a fold survived lowering to the ONF");
    default: break;
  }
  for (const dnf::Scalar& a : s->args) CountScalar(a, mult, eb, c);
}

void CountStmt(const onf::Stmt& s, const Bindings& sizes, double mult, int eb, OpCounts* c) {
  switch (s.kind) {
    case onf::StmtKind::kLoop: {
      const double trip = static_cast<double>(Trip(s, sizes));
      for (const onf::Stmt& b : s.body) CountStmt(b, sizes, mult * trip, eb, c);
      return;
    }
    case onf::StmtKind::kGuard:  // as if always true: a tail is costed as a padded tile
      CountScalar(s.value, mult, eb, c);
      for (const onf::Stmt& b : s.body) CountStmt(b, sizes, mult, eb, c);
      return;
    case onf::StmtKind::kLet: CountScalar(s.value, mult, eb, c); return;
    case onf::StmtKind::kAccum:
      if (s.op == BinaryOp::kAdd && s.value->kind == SKind::kBinary &&
          s.value->binary == BinaryOp::kMul && !IsInvariant(s.value)) {
        c->fma += mult;
        for (const dnf::Scalar& a : s.value->args) CountScalar(a, mult, eb, c);
      } else {
        c->other_flops += mult;
        CountScalar(s.value, mult, eb, c);
      }
      return;
    case onf::StmtKind::kStore: {
      c->stored_bytes[s.name] += mult * eb;
      // buffer[x] = buffer[x] + a·b is a multiply-add into memory (the naive P·v update).
      const dnf::Scalar& v = s.value;
      if (v->kind == SKind::kBinary && v->binary == BinaryOp::kAdd && v->args.size() == 2 &&
          v->args[0]->kind == SKind::kLoad && v->args[0]->name == s.name &&
          v->args[0]->offset == s.offset && v->args[1]->kind == SKind::kBinary &&
          v->args[1]->binary == BinaryOp::kMul && !IsInvariant(v->args[1])) {
        c->fma += mult;
        CountScalar(v->args[0], mult, eb, c);
        for (const dnf::Scalar& a : v->args[1]->args) CountScalar(a, mult, eb, c);
        return;
      }
      CountScalar(v, mult, eb, c);
      return;
    }
  }
}

}  // namespace

OpCounts CountOps(const onf::Onf& onf, const Bindings& sizes, int elem_bytes) {
  OpCounts c;
  for (const onf::Stmt& s : onf.body) CountStmt(s, sizes, 1.0, elem_bytes, &c);
  return c;
}

std::map<std::string, ArrayBytes> Traffic(const onf::Onf& onf, const Bindings& sizes,
                                          const CacheSpec& spec) {
  Analyzer an(onf, sizes, spec);
  std::map<std::string, ArrayBytes> out;
  const double scale = static_cast<double>(spec.outer_split) * spec.line;
  for (const std::string& a : an.arrays()) {
    ArrayBytes b;
    b.loaded = an.TrafficLines(an.root(), a, false) * scale;
    b.stored = an.TrafficLines(an.root(), a, true) * scale;
    out[a] = b;
  }
  return out;
}

std::map<std::string, double> Footprint(const onf::Onf& onf, const Bindings& sizes, int line,
                                        int elem_bytes) {
  CacheSpec spec{int64_t{1} << 62, line, elem_bytes, 1};
  Analyzer an(onf, sizes, spec);
  std::map<std::string, double> out;
  for (const std::string& a : an.arrays()) out[a] = an.Lines(an.root(), a, true, false) * line;
  return out;
}

}  // namespace moa::cost
