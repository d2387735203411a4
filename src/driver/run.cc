#include "driver/run.h"

#include <cstdio>
#include <random>

#include "cost/machine_model.h"
#include "moa/algebra.h"
#include "moa/error.h"
#include "onf/interpreter.h"

namespace moa::driver {
namespace {

std::string SizeArg(Caller caller, const std::string& name, int64_t value) {
  return caller == Caller::kCli ? "--set " + name + "=" + std::to_string(value)
                                : "sizes['" + name + "'] = " + std::to_string(value);
}

// The elements of `shape` under `sizes`, false where the count overflows 64 bits. A negative
// extent counts 0 here: the interpreter refuses it with its own message.
bool Elements(const Shape& shape, const Bindings& sizes, int64_t* count) {
  *count = 1;
  for (const Extent& e : shape) {
    const int64_t x = e.Evaluate(sizes);
    if (x < 0) {
      *count = 0;
      return true;
    }
    if (__builtin_mul_overflow(*count, x, count)) return false;
  }
  return true;
}

// bytes += copies x elements x sizeof(double), false on overflow.
bool AddBytes(int64_t elements, int64_t copies, int64_t* bytes) {
  int64_t b = 0;
  return !__builtin_mul_overflow(elements, copies * int64_t{sizeof(double)}, &b) &&
         !__builtin_add_overflow(*bytes, b, bytes);
}

std::string Decimal(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g GB", bytes / 1e9);
  return buf;
}

// One line: the sizes, what they need (`fits`: the count did not overflow), what there is.
void CheckFits(bool fits, int64_t bytes, const Bindings& sizes, const std::string& what) {
  const int64_t memory = cost::PhysicalMemoryBytes();
  if (fits && (memory <= 0 || bytes <= memory)) return;
  std::string list;
  for (const auto& [name, value] : sizes) list += (list.empty() ? "" : ", ") + name + "=" + std::to_string(value);
  throw Error("sizes " + list + ": " + what + " need " + (fits ? Decimal(static_cast<double>(bytes)) : "more than 2^63 bytes") +
              ", more than this machine's memory (" + Decimal(static_cast<double>(memory)) +
              "); give smaller sizes");
}

// Copies of each buffer a run holds at once: an input as the caller's array, Run's flat copy
// and the interpreter's own; an output as the interpreter's buffer, the result array and the
// caller's copy (NumPy's in Python).
constexpr int64_t kInputCopies = 3, kOutputCopies = 3;

}  // namespace

Bindings BindSizes(const spec::Spec& spec, const std::map<std::string, Array>& inputs, const Bindings& given,
                   Caller caller) {
  const bool cli = caller == Caller::kCli;
  for (const auto& [name, value] : given) {
    bool known = false;
    for (const std::string& s : spec.sizes) known = known || s == name;
    UserCheck(known, SizeArg(caller, name, value), ": the spec has no size '", name, "' (its sizes: ",
              [&] { std::string l; for (const auto& s : spec.sizes) l += (l.empty() ? "" : ", ") + s; return l; }(), ")");
    UserCheck(value >= 0, SizeArg(caller, name, value), ": a size must be >= 0");
  }
  for (const auto& [name, a] : inputs) {
    bool known = false;
    for (const spec::Param& p : spec.params) known = known || p.name == name;
    UserCheck(known, "input '", name, "' is not an argument of ", spec.function);
  }
  Bindings sizes = given;
  std::map<std::string, std::string> source;  // which input bound each size, for messages
  for (const auto& [name, value] : given) source[name] = cli ? "--set" : "sizes";
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
  for (const std::string& s : spec.sizes) {
    if (sizes.count(s)) continue;
    missing += cli ? (missing.empty() ? "" : ",") + s + "=8" : (missing.empty() ? "'" : ", '") + s + "': 8";
  }
  UserCheck(missing.empty(), "sizes without a value: give them with ", cli ? "--set " + missing : "sizes={" + missing + "}",
            " (or pass inputs they can be read from)");
  return sizes;
}

void CheckInputDtype(const spec::Spec& spec, const std::string& name, const std::string& dtype,
                     const std::string& what) {
  for (const spec::Param& p : spec.params) {
    if (p.name != name) continue;
    const bool want_bool = p.type == expr::ElemType::kBool;
    UserCheck(want_bool == (dtype == "bool"), what, ": ", spec.function, "'s argument '", name, "' is ",
              want_bool ? "Bool: expected a bool array" : "real: expected a float (or integer) array", ", got ", dtype);
  }
}

void CheckMemory(const Derivation& d, const Bindings& sizes) {
  const onf::Onf& program = d.tiles ? d.lifted : d.onf;
  int64_t bytes = 0;
  bool fits = true;
  for (const onf::Buffer& b : program.buffers) {
    int64_t elements = 0;
    const int64_t copies = b.role == onf::Role::kInput ? kInputCopies : b.role == onf::Role::kOutput ? kOutputCopies : 1;
    fits = fits && Elements(b.shape, sizes, &elements) && AddBytes(elements, copies, &bytes);
  }
  CheckFits(fits, bytes, sizes, "the interpreter's float64 buffers (inputs, outputs" + std::string(d.tiles ? ", tiles" : "") +
                                    ", and the copies a run holds)");
}

std::vector<std::string> DrawMissingInputs(const spec::Spec& spec, const Bindings& sizes, uint64_t seed,
                                           std::map<std::string, Array>* inputs) {
  int64_t bytes = 0;
  bool fits = true;
  for (const spec::Param& p : spec.params) {
    int64_t elements = 0;
    if (!inputs->count(p.name)) fits = fits && Elements(p.shape, sizes, &elements) && AddBytes(elements, 1, &bytes);
  }
  CheckFits(fits, bytes, sizes, "the random inputs");
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
  CheckMemory(d, sizes);
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
