#include "driver/derivation.h"

#include <sstream>

#include "spec/builtins.h"

namespace moa::driver {
namespace {

std::string Elements(const Extent& e) { return e.ToString() + (e == Extent(1) ? " element" : " elements"); }

nlohmann::json ShapeJson(const Shape& s) {
  nlohmann::json j = nlohmann::json::array();
  for (const Extent& e : s) {
    if (auto c = e.TryConstant()) {
      j.push_back(*c);
    } else {
      j.push_back(e.ToString(true));
    }
  }
  return j;
}

}  // namespace

spec::Spec LoadSpec(const std::string& path_or_name, bool builtin) {
  if (builtin) return spec::Parse(spec::BuiltinSource(path_or_name), "<builtin:" + path_or_name + ">");
  return spec::ParseFile(path_or_name);
}

Derivation Derive(spec::Spec spec, const std::map<std::string, Layout>& layouts,
                  std::optional<lift::Tiles> tiles) {
  Derivation d;
  d.naive = dnf::NaiveIntermediates(spec.outputs);
  d.dnf = dnf::Derive(spec.inputs, spec.outputs, spec.output_names);
  d.buffers = dnf::NoMaterialisedArrays(d.dnf);
  d.onf = onf::Lower(d.dnf, layouts);
  d.tiles = tiles;
  if (tiles) d.lifted = lift::LowerOnePass(d.dnf, *tiles, layouts);
  d.spec = std::move(spec);
  return d;
}

std::string ToText(const Derivation& d, bool steps) {
  std::ostringstream os;
  os << "== spec " << d.spec.function << " (" << d.spec.file << ")\n";
  os << expr::ToString(d.spec.outputs);
  for (size_t o = 0; o < d.spec.outputs.size(); ++o)
    os << "return " << d.spec.output_names[o] << " : " << ToString(d.spec.outputs[o]->shape) << "\n";

  os << "\n== naive evaluation: one buffer per operation\n";
  for (const dnf::Intermediate& i : d.naive) {
    os << "  " << i.name << " = " << i.op << " : " << ToString(i.shape) << ", "
       << (i.view ? "a view in PyTorch (no copy)" : Elements(i.elements));
    if (i.loc.line > 0) os << "   (line " << i.loc.line << ")";
    os << "\n";
  }
  os << "  materialised in total: " << Elements(dnf::MaterialisedElements(d.naive)) << "\n";

  if (steps) {
    os << "\n== psi-reduction, step by step\n";
    for (size_t k = 0; k < d.dnf.steps.size(); ++k)
      os << "  " << k + 1 << ". [" << d.dnf.steps[k].rule << "] " << d.dnf.steps[k].text << "\n";
  }
  os << "\n== DNF (denotational normal form)\n" << dnf::ToString(d.dnf);

  os << "\n== buffers\n";
  for (const dnf::BufferEntry& b : d.buffers.buffers)
    os << "  " << b.name << " : " << ToString(b.role) << ", " << ToString(b.shape) << ", "
       << Elements(b.elements) << " (" << b.note << ")\n";
  os << "  " << (d.buffers.minimal ? "minimal: " : "NOT minimal: ") << d.buffers.why << "\n";

  os << "\n== ONF (operational normal form)\n" << onf::ToString(d.onf);
  if (d.tiles) {
    os << "\n== lifted ONF: one pass with the online-softmax monoid, queries lifted to <ceil(n/"
       << d.tiles->query << ") " << d.tiles->query << ">, keys to <ceil(m/";
    if (d.tiles->splits > 1) {
      os << d.tiles->splits * d.tiles->key << ") " << d.tiles->splits << " " << d.tiles->key
         << "> (split-KV: " << d.tiles->splits
         << " key ranges, each with its own state, combined by the monoid at the end)";
    } else {
      os << d.tiles->key << ") " << d.tiles->key << ">";
    }
    os << "; the tiles are its only temporaries\n" << onf::ToString(d.lifted);
  }
  return os.str();
}

std::string ToLatex(const Derivation& d) { return dnf::ToString(d.dnf, dnf::Notation::kLatex); }

nlohmann::json ToJson(const Derivation& d, bool steps) {
  nlohmann::json j;
  j["spec"] = {{"function", d.spec.function}, {"file", d.spec.file}, {"sizes", d.spec.sizes}, {"source", d.spec.source}};
  nlohmann::json params = nlohmann::json::array();
  for (const spec::Param& p : d.spec.params)
    params.push_back({{"name", p.name}, {"shape", ShapeJson(p.shape)},
                      {"dtype", p.type == expr::ElemType::kBool ? "bool" : "float"}});
  j["spec"]["params"] = params;
  nlohmann::json outs = nlohmann::json::array();
  for (size_t o = 0; o < d.spec.outputs.size(); ++o)
    outs.push_back({{"name", d.spec.output_names[o]}, {"shape", ShapeJson(d.spec.outputs[o]->shape)}});
  j["spec"]["outputs"] = outs;
  j["expr"] = expr::ToString(d.spec.outputs);

  nlohmann::json naive = nlohmann::json::array();
  for (const dnf::Intermediate& i : d.naive)
    naive.push_back({{"name", i.name}, {"op", i.op}, {"shape", ShapeJson(i.shape)},
                     {"elements", i.elements.ToString(true)}, {"view", i.view}, {"line", i.loc.line}});
  j["naive"] = {{"intermediates", naive}, {"materialised_elements", dnf::MaterialisedElements(d.naive).ToString(true)}};

  j["dnf"] = {{"text", dnf::ToString(d.dnf)}, {"latex", dnf::ToString(d.dnf, dnf::Notation::kLatex)}};
  if (steps) {
    nlohmann::json s = nlohmann::json::array();
    for (const dnf::Step& step : d.dnf.steps) s.push_back({{"rule", step.rule}, {"text", step.text}});
    j["dnf"]["steps"] = s;
  }
  nlohmann::json buffers = nlohmann::json::array();
  for (const dnf::BufferEntry& b : d.buffers.buffers)
    buffers.push_back({{"name", b.name}, {"role", ToString(b.role)}, {"shape", ShapeJson(b.shape)},
                       {"elements", b.elements.ToString(true)}, {"note", b.note}});
  j["buffers"] = {{"entries", buffers}, {"minimal", d.buffers.minimal}, {"why", d.buffers.why}};
  j["onf"] = {{"text", onf::ToString(d.onf)}};
  if (d.tiles)
    j["lifted_onf"] = {{"text", onf::ToString(d.lifted)}, {"bq", d.tiles->query}, {"bk", d.tiles->key},
                       {"splits", d.tiles->splits}};
  return j;
}

}  // namespace moa::driver
