#include "moa/algebra.h"

#include <algorithm>

#include "moa/error.h"
#include "moa/shape_rules.h"

namespace moa {
namespace {

// Builds an array of concrete shape `rho` whose element at full index i is element(i):
// the ψ-rule of an operation, applied at every index of its result.
template <typename ElementFn>
Array Tabulate(const Index& rho, ElementFn element) {
  Array out = Array::Filled(rho, 0.0);
  Index i(rho.size(), 0);
  for (double& x : out.data()) {
    x = element(i);
    for (size_t j = rho.size(); j-- > 0;) {  // next index in row-major order
      if (++i[j] < rho[j]) break;
      i[j] = 0;
    }
  }
  return out;
}

Index Concrete(const Shape& s) { return Evaluate(s); }

Index Split(const Index& i, size_t from, size_t to) {
  return Index(i.begin() + static_cast<std::ptrdiff_t>(from), i.begin() + static_cast<std::ptrdiff_t>(to));
}

// op-fold over k < n of term(k): starts from the identity when op has one, else from term(0).
template <typename TermFn>
double Fold(BinaryOp op, int64_t n, TermFn term, const char* what) {
  if (n == 0) {
    UserCheck(HasIdentity(op), what, " over an empty axis with '", Name(op),
              "', which has no identity element");
    return Identity(op);
  }
  double acc = term(0);
  for (int64_t k = 1; k < n; ++k) acc = Apply(op, acc, term(k));
  return acc;
}

}  // namespace

Array Psi(const Index& i, const Array& a) {
  const Index rho = Concrete(shape_rule::Psi(i, ToShape(a.shape())));
  // ψ-correspondence: a partial index names one contiguous run of the row-major data.
  const size_t k = i.size();
  const int64_t count = Product(rho);
  int64_t start = 0;
  if (k > 0) start = Gamma(i, TakeVec(static_cast<int64_t>(k), a.shape())) * count;
  std::vector<double> run(a.data().begin() + start, a.data().begin() + start + count);
  return Array(rho, std::move(run));
}

Array Take(const Index& k, const Array& a) {
  const Index rho = Concrete(shape_rule::Take(k, ToShape(a.shape())));
  return Tabulate(rho, [&](const Index& i) {
    Index src = i;
    for (size_t j = 0; j < k.size(); ++j)
      if (k[j] < 0) src[j] += a.shape()[j] + k[j];
    return a.at(src);
  });
}

Array Drop(const Index& k, const Array& a) {
  const Index rho = Concrete(shape_rule::Drop(k, ToShape(a.shape())));
  return Tabulate(rho, [&](const Index& i) {
    Index src = i;
    for (size_t j = 0; j < k.size(); ++j) src[j] += std::max<int64_t>(k[j], 0);
    return a.at(src);
  });
}

Array Reverse(const Array& a) {
  const Index rho = Concrete(shape_rule::Reverse(ToShape(a.shape())));
  return Tabulate(rho, [&](const Index& i) {
    Index src = i;
    src[0] = rho[0] - 1 - i[0];
    return a.at(src);
  });
}

Array Rotate(int64_t k, const Array& a) {
  const Index rho = Concrete(shape_rule::Rotate(ToShape(a.shape())));
  return Tabulate(rho, [&](const Index& i) {
    Index src = i;
    src[0] = ((i[0] + k) % rho[0] + rho[0]) % rho[0];  // non-negative for negative k too
    return a.at(src);
  });
}

Array Transpose(const Array& a) {
  const Index rho = Concrete(shape_rule::Transpose(ToShape(a.shape())));
  return Tabulate(rho, [&](const Index& i) { return a.at(Index(i.rbegin(), i.rend())); });
}

Array Permute(const Array& a, const Index& p) {
  const Index rho = Concrete(shape_rule::Permute(p, ToShape(a.shape())));
  return Tabulate(rho, [&](const Index& i) {
    Index src(i.size());
    for (size_t r = 0; r < p.size(); ++r) src[static_cast<size_t>(p[r])] = i[r];
    return a.at(src);
  });
}

Array Cat(const Array& a, const Array& b) {
  const Index rho = Concrete(shape_rule::Cat(ToShape(a.shape()), ToShape(b.shape())));
  const int64_t s0a = a.shape()[0];
  return Tabulate(rho, [&](const Index& i) {
    if (i[0] < s0a) return a.at(i);
    Index src = i;
    src[0] -= s0a;
    return b.at(src);
  });
}

Array Reshape(const Index& v, const Array& a, Layout layout) {
  const Index rho = Concrete(shape_rule::Reshape(ToShape(v), ToShape(a.shape())));
  return Tabulate(rho, [&](const Index& i) {
    return a.at(GammaInverse(Gamma(i, rho, layout), a.shape(), layout));
  });
}

Array Map(UnaryOp op, const Array& a) {
  return Tabulate(a.shape(), [&](const Index& i) { return Apply(op, a.at(i)); });
}

Array Pointwise(BinaryOp op, const Array& a, const Array& b) {
  const Index rho = Concrete(shape_rule::Pointwise(ToShape(a.shape()), ToShape(b.shape())));
  return Tabulate(rho, [&](const Index& i) {
    const double x = a.dimension() == 0 ? a.scalar() : a.at(i);
    const double y = b.dimension() == 0 ? b.scalar() : b.at(i);
    return Apply(op, x, y);
  });
}

Array Outer(BinaryOp op, const Array& a, const Array& b) {
  const Index rho = Concrete(shape_rule::Outer(ToShape(a.shape()), ToShape(b.shape())));
  const size_t da = a.shape().size();
  return Tabulate(rho, [&](const Index& i) {
    return Apply(op, a.at(Split(i, 0, da)), b.at(Split(i, da, i.size())));
  });
}

Array Inner(BinaryOp op1, BinaryOp op2, const Array& a, const Array& b) {
  const Index rho = Concrete(shape_rule::Inner(ToShape(a.shape()), ToShape(b.shape())));
  const size_t da = a.shape().size() - 1;
  const int64_t p = b.shape()[0];
  return Tabulate(rho, [&](const Index& i) {
    const Index ia = Split(i, 0, da), jb = Split(i, da, i.size());
    return Fold(op1, p, [&](int64_t k) {
      return Apply(op2, a.at(CatVec(ia, Index{k})), b.at(CatVec(Index{k}, jb)));
    }, "inner product");
  });
}

Array Reduce(BinaryOp op, const Array& a) {
  const Index rho = Concrete(shape_rule::Reduce(ToShape(a.shape())));
  const int64_t n = a.shape()[0];
  return Tabulate(rho, [&](const Index& i) {
    return Fold(op, n, [&](int64_t k) { return a.at(CatVec(Index{k}, i)); }, "reduce");
  });
}

Array Omega(const CellFunction& f, int64_t sigma_l, int64_t sigma_r, const Array& l,
            const Array& r) {
  const Index frame =
      Concrete(shape_rule::OmegaFrame(sigma_l, ToShape(l.shape()), sigma_r, ToShape(r.shape())));
  const int64_t fl = l.dimension() - sigma_l, fr = r.dimension() - sigma_r;
  const Index frame_l = TakeVec(fl, l.shape()), frame_r = TakeVec(fr, r.shape());
  // A side whose frame is not the result frame has exactly one cell: index it with zeros.
  auto cell = [&](const Array& x, const Index& x_frame, int64_t x_rank, const Index& at) {
    return Psi(x_frame == frame ? at : Index(static_cast<size_t>(x_rank), 0), x);
  };
  const int64_t cells = Product(frame);
  if (cells == 0) {
    // No cell to apply f to: learn the cell result's shape from f on zero-filled cells.
    const Array probe = f(Array::Filled(DropVec(fl, l.shape()), 0.0),
                          Array::Filled(DropVec(fr, r.shape()), 0.0));
    return Array::Filled(CatVec(frame, probe.shape()), 0.0);
  }
  std::vector<double> data;
  Index cell_shape;
  for (int64_t x = 0; x < cells; ++x) {
    const Index at = GammaInverse(x, frame);
    const Array y = f(cell(l, frame_l, fl, at), cell(r, frame_r, fr, at));
    if (x == 0) cell_shape = y.shape();
    UserCheck(y.shape() == cell_shape, "omega: f returned shape ", ToString(y.shape()),
              " on cell ", ToString(at), " but ", ToString(cell_shape),
              " on the first cell; every cell result must have the same shape");
    data.insert(data.end(), y.data().begin(), y.data().end());
  }
  return Array(CatVec(frame, cell_shape), std::move(data));
}

}  // namespace moa
