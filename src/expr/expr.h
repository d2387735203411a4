// moa expr — the MoA expression DAG. Nodes are immutable and shared; each carries its symbolic
// shape, computed by moa/shape_rules.h when the node is built, so an ill-shaped expression cannot
// be constructed. The spec front end builds these nodes (through torch_ops.h for PyTorch
// semantics); ψ-reduction (src/dnf) consumes them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "moa/scalar_op.h"
#include "moa/shape.h"

namespace moa::expr {

enum class Kind {
  kInput,     // a named argument of the spec
  kScalar,    // a constant, shape <>
  kSize,      // a size used as a value (q.size(-1)), shape <>: symbolic until sizes are bound
  kIota,      // ι n, shape <n>
  kMap,       // unary op on every element
  kBinary,    // pointwise binary op: equal shapes, or a scalar side
  kWhere,     // pointwise select: cond ? a : b (equal shapes, or scalar sides)
  kExtend,    // omega with one-cell frames: missing leading axes and axes of extent 1 repeated
  kPermute,   // transpose by permutation (PyTorch permute convention)
  kTake,      // k△A
  kDrop,      // k▽A
  kReverse,   // ΦA along axis 0
  kCat,       // A ++ B along axis 0
  kOuter,     // A •op B
  kInner,     // +.× over the last axis of A and the first of B's cell: omega of inner over a frame
  kReduce,    // op/ along one axis, optionally keeping it with extent 1
};

enum class ElemType { kReal, kBool };

// Where in the spec source a node came from (line 0: built in C++).
struct SourceLoc {
  int line = 0;
  int column = 0;
};

struct Node;
using Expr = std::shared_ptr<const Node>;

// The deepest expression DAG a constructor builds (depth: operations on the longest path down to
// an input or constant, which have depth 0).
// Every later pass (ψ-reduction, hoisting, factoring, printing, ONF lowering, the interpreters)
// recurses along such paths, each at most a few frames per level and the scalar DAG at most
// 2·depth + 1 deep, so bounding the depth here bounds every pass's stack. 128 is ten times any
// real spec and leaves the whole pipeline of the deepest spec under 1 MiB of stack in a release
// build, and under 8 MiB (a main thread's) with AddressSanitizer, whose frames are several times
// larger (tested: src/spec/depth_test.cc).
inline constexpr int kMaxDepth = 128;

struct Node {
  Kind kind;
  Shape shape;
  ElemType type = ElemType::kReal;
  std::vector<Expr> operands;
  std::string name;                      // kInput: argument name
  double value = 0;                      // kScalar
  Extent size;                           // kSize
  UnaryOp unary = UnaryOp::kNeg;         // kMap
  BinaryOp binary = BinaryOp::kAdd;      // kBinary, kOuter, kReduce
  Index counts;                          // kTake, kDrop: k; kPermute: p
  int64_t axis = 0;                      // kReduce: the reduced axis; kInner: the frame rank
  bool keepdim = false;                  // kReduce
  bool empty_is_error = false;           // kReduce: a user's amax/max, which PyTorch refuses
                                         // over an empty axis (softmax's own max is not)
  SourceLoc loc;
  std::string label;                     // optional user-facing name (the spec's variable)
  int depth = 0;                         // 0 for a leaf, else 1 + the deepest operand's; <= kMaxDepth
};

// Constructors: each checks its operation's shape rule and throws moa::Error if it is broken, or if
// the node would be deeper than kMaxDepth ("expression nested deeper than 256").
Expr Input(const std::string& name, Shape shape, ElemType type = ElemType::kReal);
Expr Scalar(double value);
// A size as a scalar value, e.g. q.size(-1) = dk: `math.sqrt(q.size(-1))` is Map(sqrt, Size(dk)).
Expr Size(Extent extent);
Expr Iota(Extent n);
Expr Map(UnaryOp op, Expr a);
Expr Binary(BinaryOp op, Expr a, Expr b);
Expr Where(Expr cond, Expr a, Expr b);
// Aligned at the last axis as in PyTorch broadcasting: each axis of ρa is 1 or the target's.
Expr Extend(Expr a, Shape target);
Expr Permute(Expr a, Index p);
Expr Transpose(Expr a);             // ⍉A = permute by Φ ι δA
Expr Take(Index k, Expr a);
Expr Drop(Index k, Expr a);
Expr Reverse(Expr a);
Expr Cat(Expr a, Expr b);
Expr Outer(BinaryOp op, Expr a, Expr b);
// frame ++ <n p> and frame ++ <p m> give frame ++ <n m>, frames equal and of rank `frame_rank`;
// with frame_rank 0 this is MoA's +.× on matrices (δA, δB ≥ 1).
Expr Inner(Expr a, Expr b, int64_t frame_rank = 0);
Expr Reduce(BinaryOp op, Expr a, int64_t axis = 0, bool keepdim = false);

// A copy of `e` with a source location and a label attached (for reports and errors).
Expr WithSource(Expr e, SourceLoc loc, std::string label = "");

std::string KindName(Kind kind);
// One line per node in topological order: "t3 = inner(t1, t2) : <n m>".
std::string ToString(const std::vector<Expr>& outputs);
// The operation at the root of `e` in MoA notation, operands by the given names: "q +.× ⍉k".
std::string Describe(const Node& e, const std::vector<std::string>& operand_names);

// Nodes reachable from `outputs`, operands before users, each once.
std::vector<const Node*> TopologicalOrder(const std::vector<Expr>& outputs);

}  // namespace moa::expr
