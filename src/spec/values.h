// moa spec — the values the lowering (lower.h) computes while it walks the syntax tree. A spec's
// Python names can hold more than tensors: sizes (q.size(-1) is the symbolic extent dk until sizes
// are bound), plain numbers, tuples (q.shape), references to modules and functions (torch,
// F.softmax), dtypes, and two deferred results (torch.ones(...) awaiting .tril, torch.max(x, dim)
// awaiting .values). Only tensors become expr nodes; the rest are folded or turned into nodes
// when they meet a tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "expr/expr.h"
#include "moa/extent.h"

namespace moa::spec::internal {

struct Value {
  enum class Kind {
    kTensor,     // tensor: an expr node (shape <> for scalar-valued expressions such as sqrt(dk))
    kSize,       // size: a symbolic extent used as a value
    kNumber,     // number (is_int for integer literals and integer folding)
    kBool,       // flag: True / False
    kNone,
    kString,     // text
    kTuple,      // items: a Python tuple or list, or a shape (a tuple of sizes)
    kRef,        // path: a module or function not yet called ("torch.nn.functional.softmax")
    kDtype,      // path: "torch.bool", "torch.float32", …
    kDevice,     // x.device, only good for device=
    kOnes,       // items: the sizes of torch.ones(...), path: its dtype; only good for tril/triu
    kMaxResult,  // tensor: the values of torch.max(x, dim); .values or [0] takes them
  };

  Kind kind = Kind::kNone;
  expr::Expr tensor;
  Extent size;
  double number = 0;
  bool is_int = false;
  bool flag = false;
  std::string text;     // kString
  std::string path;     // kRef, kDtype, kOnes
  std::string display;  // kRef: as the user spelled it ("F.softmax"), for messages
  std::vector<Value> items;
  bool is_list = false;  // kTuple written with [ ]

  static Value Tensor(expr::Expr e);
  static Value Size(Extent e);
  static Value Number(double v, bool is_int);
  static Value Bool(bool b);
  static Value String(std::string s);
  static Value Tuple(std::vector<Value> items, bool is_list = false);
  static Value Ref(std::string path, std::string display);
  static Value Dtype(std::string path);
};

// "a float tensor of shape <n dk>", "the size dk", "the number 2", … for error messages.
std::string DescribeValue(const Value& v);

}  // namespace moa::spec::internal
