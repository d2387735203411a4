// Issue 21, class 2: deeply nested specs. Every kind of nesting is accepted up to
// expr::kMaxDepth, and the deepest accepted spec runs through the whole pipeline (derivation,
// every printer, ONF lowering, the lifted ONF, both interpreters) on a thread with a small stack;
// one level more, and far more, is a SpecError at the construct, never a stack overflow.
#include <pthread.h>

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "driver/derivation.h"
#include "expr/evaluate.h"
#include "onf/interpreter.h"
#include "spec/spec_test_util.h"

namespace moa::spec {
namespace {

using testing::ErrorOf;
using testing::Source;

constexpr int kMax = expr::kMaxDepth;

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int k = 0; k < n; ++k) out += s;
  return out;
}

// Runs `f` on a thread whose stack is `bytes` (a thread's stack, e.g. one Python starts, can be
// much smaller than the main thread's 8 MiB); rethrows what it threw.
void OnSmallStack(size_t bytes, const std::function<void()>& f) {
  struct Job {
    const std::function<void()>* f;
    std::exception_ptr error;
  } job{&f, nullptr};
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, bytes), 0);
  pthread_t thread;
  auto run = [](void* p) -> void* {
    auto* j = static_cast<Job*>(p);
    try {
      (*j->f)();
    } catch (...) {
      j->error = std::current_exception();
    }
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&thread, &attr, run, &job), 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  if (job.error) std::rethrow_exception(job.error);
}

// The stack the deepest spec's whole pipeline gets: 1 MiB, an eighth of a main thread's. Under
// AddressSanitizer frames are several times larger (redzones around every local): 128 nested
// calls were measured to need 6 MiB there, so it gets a main thread's 8 MiB.
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kStack = size_t{8} << 20;
#else
constexpr size_t kStack = size_t{1} << 20;
#endif

// Everything a user can ask of a spec: derive (with the lifted ONF where it applies), print it
// every way, and evaluate it by the ONF interpreter and the eager evaluator at tiny sizes.
void WholePipeline(const std::string& source, bool lift) {
  Spec spec = Parse(source, "t.py");
  const std::vector<expr::Expr> outputs = spec.outputs;
  driver::Derivation d = driver::Derive(std::move(spec), {}, lift ? std::optional<lift::Tiles>(lift::Tiles{2, 2, 1})
                                                                  : std::nullopt);
  EXPECT_FALSE(driver::ToText(d, true).empty());
  EXPECT_FALSE(driver::ToLatex(d).empty());
  EXPECT_FALSE(driver::ToJson(d, true).dump().empty());
  const Bindings sizes = {{"n", 2}, {"m", 3}, {"d", 2}};
  onf::FlatBuffers in;
  std::map<std::string, Array> arrays;
  for (const Param& p : d.spec.params) {
    const Index shape = Evaluate(p.shape, sizes);
    std::vector<double> data(static_cast<size_t>(Product(shape)));
    for (size_t k = 0; k < data.size(); ++k) data[k] = 0.25 * static_cast<double>(k % 5) - 0.5;
    arrays.emplace(p.name, Array(shape, data));
    in[p.name] = std::move(data);
  }
  const onf::FlatBuffers out = onf::Interpret(d.onf, sizes, in);
  const std::vector<Array> eager = expr::Evaluate(outputs, arrays, sizes);
  ASSERT_EQ(out.size(), 1u);
  const std::vector<double>& got = out.begin()->second;
  ASSERT_EQ(got.size(), static_cast<size_t>(eager[0].size()));
  for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], eager[0].data()[k], 1e-9) << k;
  if (lift) {
    const onf::FlatBuffers lifted = onf::Interpret(d.lifted, sizes, in);
    for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(lifted.begin()->second[k], got[k], 1e-9) << k;
  }
}

struct Nesting {
  const char* name;
  int deepest;  // repetitions at the limit: a method call is two tree levels (attribute, call);
                // `torch.abs(…)` one, over a callee one deep
  std::function<std::string(int)> source;
};

const Nesting kNestings[] = {
    {"parentheses", kMax, [](int k) { return Source("q: \"n d\"", "return " + Repeat("(", k) + "q" + Repeat(")", k)); }},
    {"unary minus", kMax, [](int k) { return Source("q: \"n d\"", "return " + Repeat("-", k) + "q"); }},
    {"minus and parentheses", kMax / 2, [](int k) { return Source("q: \"n d\"", "return " + Repeat("-(", k) + "q" + Repeat(")", k)); }},
    {"chained .abs()", kMax / 2, [](int k) { return Source("q: \"n d\"", "return q" + Repeat(".abs()", k)); }},
    {"nested calls", kMax - 1, [](int k) { return Source("q: \"n d\"", "return " + Repeat("torch.abs(", k) + "q" + Repeat(")", k)); }},
    {"rebinding lines", kMax, [](int k) { return Source("q: \"n d\"", Repeat("q = -q\n", k) + "return q"); }},
};

TEST(SpecDepth, EachNestingIsAcceptedToTheLimitAndRunsOnASmallStack) {
  for (const Nesting& n : kNestings) {
    SCOPED_TRACE(n.name);
    EXPECT_NO_THROW(OnSmallStack(kStack, [&] { WholePipeline(n.source(n.deepest), false); }));
  }
}

TEST(SpecDepth, OneLevelMoreAndFarMoreAreErrorsAtTheConstruct) {
  const std::string message = "error: expression nested deeper than " + std::to_string(kMax);
  for (const Nesting& n : kNestings) {
    SCOPED_TRACE(n.name);
    for (int k : {n.deepest + 1, 10 * kMax, 20000}) {
      const std::string e = ErrorOf(n.source(k));
      EXPECT_EQ(e.rfind("t.py:", 0), 0u) << k << ": " << e;
      EXPECT_NE(e.find(message), std::string::npos) << k << ": " << e;
    }
  }
}

// A rebinding error points at the line where the limit is crossed.
TEST(SpecDepth, RebindingErrorNamesTheLine) {
  const std::string e = ErrorOf(Source("q: \"n d\"", Repeat("q = -q\n", kMax + 5) + "return q"));
  EXPECT_EQ(e.rfind("t.py:" + std::to_string(8 + kMax) + ":", 0), 0u) << e;
}

// Attention whose scores pass through as many negations as the limit leaves: the lifted one-pass
// ONF (pattern matching, α-renaming, substitution) runs at that depth too.
TEST(SpecDepth, DeepestLiftableAttentionRunsOnASmallStack) {
  auto source = [](int k) {
    return Source("q: \"n d\", k: \"m d\", v: \"m d\"",
                  "s = q @ k.transpose(-2, -1)\n" + Repeat("s = -s\n", k) +
                      "return torch.softmax(s, dim=-1) @ v");
  };
  int deepest = kMax;
  while (ErrorOf(source(deepest)) != "(no error)") --deepest;
  EXPECT_GT(deepest, kMax - 16);
  EXPECT_NO_THROW(OnSmallStack(kStack, [&] { WholePipeline(source(deepest), true); }));
}

}  // namespace
}  // namespace moa::spec
