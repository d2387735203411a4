#include "driver/run.h"

#include <random>

#include "moa/algebra.h"
#include "moa/error.h"
#include "onf/interpreter.h"

namespace moa::driver {

Bindings BindSizes(const spec::Spec& spec, const std::map<std::string, Array>& inputs, const Bindings& given) {
  for (const auto& [name, value] : given) {
    bool known = false;
    for (const std::string& s : spec.sizes) known = known || s == name;
    UserCheck(known, "--set ", name, "=", value, ": the spec has no size '", name, "' (its sizes: ",
              [&] { std::string l; for (const auto& s : spec.sizes) l += (l.empty() ? "" : ", ") + s; return l; }(), ")");
    UserCheck(value >= 0, "--set ", name, "=", value, ": a size must be >= 0");
  }
  for (const auto& [name, a] : inputs) {
    bool known = false;
    for (const spec::Param& p : spec.params) known = known || p.name == name;
    UserCheck(known, "input '", name, "' is not an argument of ", spec.function);
  }
  Bindings sizes = given;
  std::map<std::string, std::string> source;  // which input bound each size, for messages
  for (const auto& [name, value] : given) source[name] = "--set";
  // Pass 1: extents that are a single size name bind it; pass 2: check every extent.
  for (int pass = 0; pass < 2; ++pass) {
    for (const spec::Param& p : spec.params) {
      auto it = inputs.find(p.name);
      if (it == inputs.end()) continue;
      const Index& have = it->second.shape();
      UserCheck(have.size() == p.shape.size(), "input '", p.name, "' has shape ", ToString(have), " (", have.size(),
                " dimensions) but the spec declares ", ToString(p.shape), " (", p.shape.size(), ")");
      for (size_t j = 0; j < have.size(); ++j) {
        const Extent& e = p.shape[j];
        const auto symbols = e.Symbols();
        if (pass == 0 && symbols.size() == 1 && e == Extent::Symbol(symbols[0])) {
          auto [pos, fresh] = sizes.emplace(symbols[0], have[j]);
          if (fresh) source[symbols[0]] = "input '" + p.name + "'";
          UserCheck(pos->second == have[j], "size '", symbols[0], "' is ", pos->second, " from ",
                    source[symbols[0]], " but ", have[j], " from input '", p.name, "' (axis ", j, ")");
        }
        if (pass == 1) {
          const int64_t want = e.Evaluate(sizes);
          UserCheck(want == have[j], "input '", p.name, "' has extent ", have[j], " on axis ", j,
                    " but the spec declares ", e.ToString(), " = ", want);
        }
      }
    }
  }
  std::string missing;
  for (const std::string& s : spec.sizes)
    if (!sizes.count(s)) missing += (missing.empty() ? "" : ",") + s + "=8";
  UserCheck(missing.empty(), "sizes without a value: give them with --set ", missing, " (or pass inputs they can be read from)");
  return sizes;
}

std::vector<std::string> DrawMissingInputs(const spec::Spec& spec, const Bindings& sizes, uint64_t seed,
                                           std::map<std::string, Array>* inputs) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::bernoulli_distribution mostly_true(0.8);
  std::vector<std::string> drawn;
  for (const spec::Param& p : spec.params) {
    if (inputs->count(p.name)) continue;
    Array a = Array::Filled(Evaluate(p.shape, sizes), 0.0);
    for (double& x : a.data()) x = p.type == expr::ElemType::kBool ? mostly_true(rng) : normal(rng);
    inputs->emplace(p.name, std::move(a));
    drawn.push_back(p.name);
  }
  return drawn;
}

std::vector<Array> Run(const Derivation& d, const Bindings& sizes, const std::map<std::string, Array>& inputs) {
  const onf::Onf& program = d.tiles ? d.lifted : d.onf;
  onf::FlatBuffers flat;
  for (const onf::Buffer& b : program.buffers) {
    if (b.role != onf::Role::kInput) continue;
    auto it = inputs.find(b.name);
    UserCheck(it != inputs.end(), "input '", b.name, "' is missing");
    // The ONF reads column-major buffers as the row-major data of the reversed axes.
    flat[b.name] = b.layout == Layout::kRowMajor ? it->second.data() : Transpose(it->second).data();
  }
  onf::FlatBuffers out = onf::Interpret(program, sizes, flat);
  std::vector<Array> results;
  for (const std::string& name : d.spec.output_names) {
    for (const onf::Buffer& b : program.buffers) {
      if (b.name != name) continue;
      const Index shape = Evaluate(b.shape, sizes);
      if (b.layout == Layout::kRowMajor) {
        results.emplace_back(shape, std::move(out.at(name)));
      } else {
        results.push_back(Transpose(Array(Index(shape.rbegin(), shape.rend()), std::move(out.at(name)))));
      }
    }
  }
  return results;
}

}  // namespace moa::driver
