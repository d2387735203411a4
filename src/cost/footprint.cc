// moa cost — operation counts and footprint-model cache traffic of an ONF loop nest.
#include "cost/footprint.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <tuple>

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

Node Build(const onf::Stmt& s, const Bindings& sizes) {
  Node n;
  if (s.kind == onf::StmtKind::kLoop) {
    n.kind = Node::kLoop;
    n.var = s.name;
    n.trip = s.extent.Evaluate(sizes);
    UserCheck(n.trip >= 0, "loop over ", s.name, " has negative extent ", n.trip);
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
      int64_t count = 1;
      for (const Extent& e : b.shape) count *= e.Evaluate(sizes);
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
  double TrafficLines(const Node& x, const std::string& array, bool stores_only) {
    const double capacity = static_cast<double>(spec_.capacity);
    if (x.kind == Node::kLeaf) return Lines(x, array, true, stores_only);
    if (FootprintBytes(x, true) <= capacity) return Lines(x, array, true, stores_only);
    if (x.kind == Node::kLoop) {
      if (FootprintBytes(x, false) <= capacity) return Lines(x, array, true, stores_only);
      double per_iteration = 0;
      for (const Node& c : x.children) per_iteration += TrafficLines(c, array, stores_only);
      return static_cast<double>(x.trip) * per_iteration;
    }
    double total = 0;
    for (const Node& c : x.children) total += TrafficLines(c, array, stores_only);
    return total;
  }

 private:
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

  Bindings sizes_;
  CacheSpec spec_;
  std::map<std::string, double> array_lines_;
  std::vector<std::string> arrays_;
  Node root_;
  std::map<std::tuple<const Node*, bool, std::string, bool>, double> lines_memo_;
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
      const double trip = static_cast<double>(s.extent.Evaluate(sizes));
      for (const onf::Stmt& b : s.body) CountStmt(b, sizes, mult * trip, eb, c);
      return;
    }
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
