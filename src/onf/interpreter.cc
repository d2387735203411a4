// The interpreter first resolves names to slots and symbolic extents to integers (sizes are
// fixed for one run), then walks the resolved tree: maps are never consulted in the loops.
#include "onf/interpreter.h"

#include <cmath>

#include "moa/error.h"

namespace moa::onf {
namespace {

using dnf::SKind;

struct Linear {  // c₀ + Σ coeff·vars[slot]
  int64_t constant = 0;
  std::vector<std::pair<int, int64_t>> terms;
};

struct CScalar {
  SKind kind;
  UnaryOp unary = UnaryOp::kNeg;
  BinaryOp binary = BinaryOp::kAdd;
  double value = 0;              // kConst, kSize
  int slot = -1;                 // kRef: scalar slot
  const std::vector<double>* buffer = nullptr;  // kLoad
  std::string buffer_name;
  Linear index;                  // kLoad offset, kIndex value
  std::vector<CScalar> args;
};

struct CStmt {
  StmtKind kind;
  int slot = -1;                 // kLoop: var slot; kLet/kAccum: scalar slot
  int64_t extent = 0;
  CScalar value;
  BinaryOp op = BinaryOp::kAdd;
  std::vector<double>* buffer = nullptr;  // kStore
  std::string buffer_name;
  Linear offset;
  std::vector<CStmt> body;
};

class Program {
 public:
  Program(const Onf& onf, const Bindings& sizes, FlatBuffers* buffers) : sizes_(sizes), buffers_(buffers) {
    for (const Stmt& s : onf.body) body_.push_back(Compile(s));
    vars_.assign(static_cast<size_t>(var_count_), 0);
    scalars_.assign(scalar_slots_.size(), 0.0);
  }

  void Run() {
    for (const CStmt& s : body_) Exec(s);
  }

 private:
  int VarSlot(const std::string& v) {
    auto it = var_slots_.find(v);
    InternalCheck(it != var_slots_.end(), "ONF uses index variable '", v, "' outside its loop");
    return it->second;
  }

  int ScalarSlot(const std::string& name) {
    return scalar_slots_.emplace(name, static_cast<int>(scalar_slots_.size())).first->second;
  }

  Linear Resolve(const dnf::Affine& a) {
    Linear l;
    l.constant = a.offset().Evaluate(sizes_);
    for (const auto& [v, c] : a.terms()) l.terms.push_back({VarSlot(v), c.Evaluate(sizes_)});
    return l;
  }

  CScalar Compile(const dnf::Scalar& s) {
    CScalar c;
    c.kind = s->kind;
    c.unary = s->unary;
    c.binary = s->binary;
    switch (s->kind) {
      case SKind::kLoad: {
        InternalCheck(s->flat, "the ONF interpreter needs flat loads");
        auto it = buffers_->find(s->name);
        InternalCheck(it != buffers_->end(), "no buffer '", s->name, "'");
        c.buffer = &it->second;
        c.buffer_name = s->name;
        c.index = Resolve(s->offset);
        break;
      }
      case SKind::kConst: c.value = s->value; break;
      case SKind::kSize: c.value = static_cast<double>(s->extent.Evaluate(sizes_)); break;
      case SKind::kIndex: c.index = Resolve(s->offset); break;
      case SKind::kRef: {
        auto it = scalar_slots_.find(s->name);
        InternalCheck(it != scalar_slots_.end(), "scalar '", s->name, "' used before it is bound");
        c.slot = it->second;
        break;
      }
      case SKind::kFold: throw InternalError("a fold survived lowering to the ONF");
      default: break;
    }
    for (const dnf::Scalar& a : s->args) c.args.push_back(Compile(a));
    return c;
  }

  CStmt Compile(const Stmt& s) {
    CStmt c;
    c.kind = s.kind;
    c.op = s.op;
    switch (s.kind) {
      case StmtKind::kLoop: {
        const int64_t n = s.extent.Evaluate(sizes_);
        UserCheck(n >= 0, "loop over ", s.name, " has negative extent ", s.extent.ToString(), " = ", n);
        InternalCheck(s.divisor >= 1, "loop divisor ", s.divisor);
        c.extent = (n + s.divisor - 1) / s.divisor;
        c.slot = var_count_++;
        const bool fresh = var_slots_.emplace(s.name, c.slot).second;
        InternalCheck(fresh, "index variable '", s.name, "' is bound twice");
        for (const Stmt& b : s.body) c.body.push_back(Compile(b));
        var_slots_.erase(s.name);  // in scope only inside its loop
        break;
      }
      case StmtKind::kLet:
        c.value = Compile(s.value);
        c.slot = ScalarSlot(s.name);
        break;
      case StmtKind::kGuard:
        c.value = Compile(s.value);
        for (const Stmt& b : s.body) c.body.push_back(Compile(b));
        break;
      case StmtKind::kAccum:
        c.value = Compile(s.value);
        c.slot = ScalarSlot(s.name);
        break;
      case StmtKind::kStore: {
        auto it = buffers_->find(s.name);
        InternalCheck(it != buffers_->end(), "no output buffer '", s.name, "'");
        c.buffer = &it->second;
        c.buffer_name = s.name;
        c.offset = Resolve(s.offset);
        c.value = Compile(s.value);
        break;
      }
    }
    return c;
  }

  int64_t Eval(const Linear& l) const {
    int64_t x = l.constant;
    for (const auto& [slot, coeff] : l.terms) x += coeff * vars_[static_cast<size_t>(slot)];
    return x;
  }

  double Eval(const CScalar& s) const {
    switch (s.kind) {
      case SKind::kLoad: {
        const int64_t x = Eval(s.index);
        InternalCheck(0 <= x && x < static_cast<int64_t>(s.buffer->size()), "load ", s.buffer_name,
                      "[", x, "] is outside its ", s.buffer->size(), " elements");
        return (*s.buffer)[static_cast<size_t>(x)];
      }
      case SKind::kConst: case SKind::kSize: return s.value;
      case SKind::kIndex: return static_cast<double>(Eval(s.index));
      case SKind::kRef: return scalars_[static_cast<size_t>(s.slot)];
      case SKind::kUnary: return Apply(s.unary, Eval(s.args[0]));
      case SKind::kBinary: return Apply(s.binary, Eval(s.args[0]), Eval(s.args[1]));
      case SKind::kSelect: return Eval(s.args[0]) != 0 ? Eval(s.args[1]) : Eval(s.args[2]);
      case SKind::kFold: break;
    }
    throw InternalError("unexpected scalar in the ONF");
  }

  void Exec(const CStmt& s) {
    switch (s.kind) {
      case StmtKind::kLoop:
        for (int64_t v = 0; v < s.extent; ++v) {
          vars_[static_cast<size_t>(s.slot)] = v;
          for (const CStmt& b : s.body) Exec(b);
        }
        return;
      case StmtKind::kLet:
        scalars_[static_cast<size_t>(s.slot)] = Eval(s.value);
        return;
      case StmtKind::kGuard:
        if (Eval(s.value) != 0)
          for (const CStmt& b : s.body) Exec(b);
        return;
      case StmtKind::kAccum: {
        double& acc = scalars_[static_cast<size_t>(s.slot)];
        acc = Apply(s.op, acc, Eval(s.value));
        return;
      }
      case StmtKind::kStore: {
        const int64_t x = Eval(s.offset);
        InternalCheck(0 <= x && x < static_cast<int64_t>(s.buffer->size()), "store ", s.buffer_name,
                      "[", x, "] is outside its ", s.buffer->size(), " elements");
        (*s.buffer)[static_cast<size_t>(x)] = Eval(s.value);
        return;
      }
    }
  }

  const Bindings& sizes_;
  FlatBuffers* buffers_;
  std::map<std::string, int> var_slots_, scalar_slots_;
  int var_count_ = 0;
  std::vector<int64_t> vars_;
  std::vector<double> scalars_;
  std::vector<CStmt> body_;
};

}  // namespace

FlatBuffers Interpret(const Onf& onf, const Bindings& sizes, const FlatBuffers& inputs) {
  for (const dnf::NonEmpty& n : onf.nonempty) UserCheck(n.extent.Evaluate(sizes) != 0, n.why);
  FlatBuffers buffers;
  for (const Buffer& b : onf.buffers) {
    const Index shape = Evaluate(b.shape, sizes);
    for (size_t j = 0; j < shape.size(); ++j)
      UserCheck(shape[j] >= 0, "buffer '", b.name, "' has shape ", moa::ToString(b.shape), " = ",
                moa::ToString(shape), " with a negative extent");
    const auto count = static_cast<size_t>(Product(shape));
    if (b.role == Role::kOutput || b.role == Role::kTile) {
      buffers[b.name].assign(count, 0.0);
      continue;
    }
    auto it = inputs.find(b.name);
    UserCheck(it != inputs.end(), "input '", b.name, "' is missing (shape ", moa::ToString(b.shape), ")");
    UserCheck(it->second.size() == count, "input '", b.name, "' has ", it->second.size(),
              " elements but its shape ", moa::ToString(b.shape), " = ", moa::ToString(shape), " needs ", count);
    buffers[b.name] = it->second;
  }
  Program(onf, sizes, &buffers).Run();
  FlatBuffers outputs;
  for (const Buffer& b : onf.buffers)
    if (b.role == Role::kOutput) outputs[b.name] = std::move(buffers[b.name]);
  return outputs;
}

}  // namespace moa::onf
