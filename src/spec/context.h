// moa spec — what the lowering's parts share: the spec's file name for errors, call arguments,
// and the conversions from values (values.h) to what torch_ops (src/expr/torch_ops.h) takes,
// each failing with a SpecError that names the construct at its line and column.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "moa/error.h"
#include "spec/spec.h"
#include "spec/values.h"

namespace moa::spec::internal {

struct Arg {
  Value value;
  expr::SourceLoc loc;
};

struct KeywordArg {
  std::string name;
  expr::SourceLoc name_loc;
  Arg arg;
};

struct CallArgs {
  std::vector<Arg> positional;
  std::vector<KeywordArg> keywords;
  expr::SourceLoc loc;  // the function's name
};

class Context {
 public:
  explicit Context(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  [[noreturn]] void Fail(expr::SourceLoc loc, const std::string& message) const {
    throw SpecError(file_, loc.line, loc.column, message);
  }

  // Runs `f`; a moa::Error from the expr layer (a shape rule, a dim out of range) becomes a
  // SpecError at `loc`, the construct being lowered.
  template <typename F>
  auto Guard(expr::SourceLoc loc, F&& f) const -> decltype(f()) {
    try {
      return f();
    } catch (const SpecError&) {
      throw;
    } catch (const Error& e) {
      Fail(loc, e.what());
    }
  }

  // Attaches `loc` to a node this construct created, so reports can say where it came from.
  // Inputs and nodes that already have a place are left alone: copying them would split the DAG.
  static expr::Expr At(expr::Expr e, expr::SourceLoc loc);

  // Binds arguments to `names` the way Python does; the first `required` must be given. Too many
  // or too few positional arguments, unknown or repeated keywords are errors naming `function`.
  std::vector<std::optional<Arg>> Bind(const std::string& function, const std::vector<std::string>& names,
                                       size_t required, const CallArgs& args) const;

  // Conversions; `what` names the argument in messages ("'dim' of 'softmax'").
  expr::Expr AsTensor(const Arg& a, const std::string& what) const;
  int64_t AsInt(const Arg& a, const std::string& what) const;
  bool AsBool(const Arg& a, const std::string& what) const;
  double AsNumber(const Arg& a, const std::string& what) const;
  Extent AsExtent(const Arg& a, const std::string& what) const;
  // An int, or a tuple/list of ints.
  std::vector<int64_t> AsInts(const Arg& a, const std::string& what) const;

 private:
  std::string file_;
};

// torch.f(...) and math.f(...), and builtins such as float(...); `path` is the resolved name
// ("torch.nn.functional.softmax"), `display` the user's spelling ("F.softmax").
Value CallFunction(const Context& cx, const std::string& path, const std::string& display, const CallArgs& args);
// x.f(...) on a tensor (and .tril/.triu on torch.ones(...)).
Value CallMethod(const Context& cx, const Arg& self, const std::string& name, const CallArgs& args);
// Tensor arithmetic with PyTorch broadcasting: + - * / ** @ comparisons & |.
Value BinaryOperator(const Context& cx, const std::string& op, const Arg& a, const Arg& b, expr::SourceLoc loc);

}  // namespace moa::spec::internal
