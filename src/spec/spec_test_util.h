// moa spec — helpers shared by the spec tests: a spec source with the usual imports around a
// function body, so each test states only what it is about. The def is on line 7 and the body
// starts on line 8, column 5.
#pragma once

#include <string>

#include "expr/expr.h"
#include "spec/spec.h"

namespace moa::spec::testing {

inline std::string Source(const std::string& args, const std::string& body, const std::string& returns = "") {
  std::string text =
      "import math\n"
      "import torch\n"
      "import torch.nn.functional as F\n"
      "from jaxtyping import Bool, Float\n"
      "from torch import Tensor\n"
      "\n"
      "def f(" + args + ")" + (returns.empty() ? "" : " -> " + returns) + ":\n";
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    text += "    " + body.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return text;
}

inline Spec ParseBody(const std::string& args, const std::string& body, const std::string& returns = "") {
  return Parse(Source(args, body, returns), "t.py");
}

// The message of the SpecError that parsing throws, or a note that none was thrown.
inline std::string ErrorOf(const std::string& source) {
  try {
    Parse(source, "t.py");
  } catch (const SpecError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(not a SpecError) ") + e.what();
  }
  return "(no error)";
}

inline std::string BodyErrorOf(const std::string& args, const std::string& body, const std::string& returns = "") {
  return ErrorOf(Source(args, body, returns));
}

inline std::string OutShape(const Spec& s, size_t i = 0) { return ToString(s.outputs.at(i)->shape); }

}  // namespace moa::spec::testing
