// moa driver — the compiler in a straight line: spec → naive intermediates → DNF (ψ-reduction,
// hoisting, factoring) → buffers report → ONF. Each stage's result is kept so that `moa derive`
// and `moa.derive` in Python can show every one of them, as text, LaTeX or JSON.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "dnf/buffers.h"
#include "dnf/dnf.h"
#include "lift/online_softmax.h"
#include "onf/onf.h"
#include "spec/spec.h"

namespace moa::driver {

struct Derivation {
  spec::Spec spec;
  std::vector<dnf::Intermediate> naive;
  dnf::Dnf dnf;
  dnf::BuffersReport buffers;
  onf::Onf onf;
  std::optional<lift::Tiles> tiles;  // when asked for: the one-pass form lifted to these tiles
  onf::Onf lifted;
};

// With `tiles`, also lowers the one-pass lifted ONF (moa::Error when the spec has no
// softmax-weighted sum to lift).
Derivation Derive(spec::Spec spec, const std::map<std::string, Layout>& layouts = {},
                  std::optional<lift::Tiles> tiles = std::nullopt);

// A spec from a file path, or from a built-in's name when `builtin` is true.
spec::Spec LoadSpec(const std::string& path_or_name, bool builtin);

// The sections of `moa derive`, in order. `steps` adds every rewrite with its rule.
std::string ToText(const Derivation& d, bool steps);
std::string ToLatex(const Derivation& d);
nlohmann::json ToJson(const Derivation& d, bool steps);

}  // namespace moa::driver
