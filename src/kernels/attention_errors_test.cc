// Every argument error of moa::attention and of the C ABI: each is a moa::Error (or status code)
// whose message names the argument and what was expected.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "moa/attention.h"
#include "moa/c_api.h"
#include "moa/error.h"

namespace moa {
namespace {

// Valid defaults: q (2, 4, 5, 8), k and v (2, 2, 6, 8 / 3), out (2, 4, 5, 3), float32.
struct Args {
  std::vector<float> qd = std::vector<float>(2 * 4 * 5 * 8, 0.5f);
  std::vector<float> kd = std::vector<float>(2 * 2 * 6 * 8, 0.25f);
  std::vector<float> vd = std::vector<float>(2 * 2 * 6 * 3, 1.0f);
  std::vector<float> od = std::vector<float>(2 * 4 * 5 * 3, 0.0f);
  std::vector<float> ld = std::vector<float>(2 * 4 * 5, 0.0f);
  std::vector<double> ld64 = std::vector<double>(2 * 4 * 5, 0.0);
  std::vector<unsigned char> md = std::vector<unsigned char>(2 * 4 * 5 * 6, 1);
  Tensor q = Tensor::Bhsd(qd.data(), DType::kFloat32, 2, 4, 5, 8);
  Tensor k = Tensor::Bhsd(kd.data(), DType::kFloat32, 2, 2, 6, 8);
  Tensor v = Tensor::Bhsd(vd.data(), DType::kFloat32, 2, 2, 6, 3);
  Tensor out = Tensor::Bhsd(od.data(), DType::kFloat32, 2, 4, 5, 3);
  AttentionOptions options;
  void Run() { Attention(q, k, v, out, options); }
};

// Expects Run() after `edit` to throw moa::Error containing every one of `parts`.
void ExpectError(const std::function<void(Args&)>& edit, const std::vector<std::string>& parts) {
  Args a;
  edit(a);
  try {
    a.Run();
    ADD_FAILURE() << "no error; expected one mentioning '" << parts[0] << "'";
  } catch (const Error& e) {
    for (const std::string& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "message: " << e.what() << "\nmissing: " << part;
    }
  }
}

TEST(AttentionErrorsTest, ValidArgumentsRun) {
  Args a;
  a.options.lse = Tensor::Lse(a.ld.data(), DType::kFloat32, 2, 4, 5);
  a.options.mask = Tensor::Bhsd(a.md.data(), DType::kBool, 2, 4, 5, 6);
  EXPECT_NO_THROW(a.Run());
  // Constant k and v: every query attends uniformly, so the output is v's constant 1.
  for (float x : a.od) EXPECT_FLOAT_EQ(x, 1.0f);
  for (float x : a.ld) EXPECT_NEAR(x, 0.5f * 0.25f * 8 / std::sqrt(8.0f) + std::log(6.0f), 1e-5);
}

TEST(AttentionErrorsTest, TensorShapesAndTypes) {
  ExpectError([](Args& a) { a.q.data = nullptr; }, {"'q'", "data pointer, got null"});
  ExpectError([](Args& a) { a.k.rank = 3; }, {"'k'", "4-D tensor", "rank 3"});
  ExpectError([](Args& a) { a.v.sizes[2] = 0; }, {"'v'", "every size >= 1", "(2, 2, 0, 3)"});
  ExpectError([](Args& a) { a.q.dtype = DType::kBool; }, {"'q'", "float64, float32 or bfloat16", "bool"});
  ExpectError([](Args& a) { a.k.dtype = DType::kFloat64; }, {"'k'", "dtype float32", "float64"});
  ExpectError([](Args& a) { a.v.dtype = DType::kBFloat16; }, {"'v'", "dtype float32", "bfloat16"});
  ExpectError([](Args& a) { a.out.dtype = DType::kFloat64; }, {"'out'", "dtype float32", "float64"});
  ExpectError([](Args& a) { a.k.sizes[0] = 1; }, {"'k'", "batch 2"});
  ExpectError([](Args& a) { a.v.sizes[0] = 3; }, {"'v'", "batch 2"});
  ExpectError([](Args& a) { a.k.sizes[3] = 7; }, {"'k'", "dim 8"});
  ExpectError([](Args& a) { a.v.sizes[2] = 5; }, {"'v'", "heads 2 and seq 6"});
  ExpectError(
      [](Args& a) {
        a.k.sizes[1] = 3;
        a.v.sizes[1] = 3;
      },
      {"'k'", "dividing the 4 heads", "got 3"});
  ExpectError([](Args& a) { a.out.sizes[3] = 8; }, {"'out'", "sizes (2, 4, 5, 3)", "(2, 4, 5, 8)"});
}

TEST(AttentionErrorsTest, OutputMemory) {
  ExpectError([](Args& a) { a.out.strides[2] = -3; }, {"'out'", "positive strides"});
  ExpectError([](Args& a) { a.out.strides[1] = 0; }, {"'out'", "positive strides"});
  ExpectError([](Args& a) { a.out.strides[2] = 1; }, {"'out'", "non-overlapping", "written twice"});
  ExpectError([](Args& a) { a.out.data = a.q.data; }, {"'out'", "disjoint from 'q'"});
  ExpectError([](Args& a) { a.out.data = a.vd.data() + 10; }, {"'out'", "disjoint from 'v'"});
}

TEST(AttentionErrorsTest, Options) {
  ExpectError(
      [](Args& a) {
        a.options.mask = Tensor::Bhsd(a.md.data(), DType::kBool, 2, 4, 5, 6);
        a.options.mask->data = nullptr;
      },
      {"'mask'", "data pointer"});
  ExpectError(
      [](Args& a) {
        a.options.mask = Tensor::Bhsd(a.md.data(), DType::kBool, 2, 4, 5, 6);
        a.options.mask->rank = 5;
      },
      {"'mask'", "rank 1 to 4", "rank 5"});
  ExpectError(
      [](Args& a) { a.options.mask = Tensor::Bhsd(a.md.data(), DType::kFloat64, 1, 1, 5, 6); },
      {"'mask'", "bool or float32", "float64"});
  ExpectError(
      [](Args& a) { a.options.mask = Tensor::Bhsd(a.md.data(), DType::kBool, 2, 3, 5, 6); },
      {"'mask'", "size 4 or 1 for dimension heads", "(2, 3, 5, 6)"});
  ExpectError([](Args& a) { a.options.scale = NAN; }, {"'scale'", "finite"});
  ExpectError(
      [](Args& a) { a.options.lse = Tensor::Lse(a.ld64.data(), DType::kFloat64, 2, 4, 5); },
      {"'lse'", "dtype float32", "float64"});
  ExpectError([](Args& a) { a.options.lse = Tensor::Lse(a.ld.data(), DType::kFloat32, 2, 4, 4); },
              {"'lse'", "sizes (2, 4, 5)", "(2, 4, 4)"});
  ExpectError(
      [](Args& a) {
        a.options.lse = Tensor::Lse(a.ld.data(), DType::kFloat32, 2, 4, 5);
        a.options.lse->rank = 4;
      },
      {"'lse'", "3-D tensor", "rank 4"});
  ExpectError(
      [](Args& a) { a.options.lse = Tensor::Lse(a.od.data(), DType::kFloat32, 2, 4, 5); },
      {"'lse'", "disjoint from 'out'"});
  ExpectError([](Args& a) { a.options.num_threads = -1; }, {"'num_threads'", "positive count", "-1"});
  ExpectError([](Args& a) { a.options.block_q = 100; }, {"'block_q'", "multiple of 64", "100"});
  ExpectError([](Args& a) { a.options.block_k = -32; }, {"'block_k'", "multiple of 32", "-32"});
  ExpectError([](Args& a) { a.options.kv_splits = -2; }, {"'kv_splits'", "positive count", "-2"});
}

// Views with stride 0 describe any sizes over a few bytes: sizes past what the kernels' tile and
// task arithmetic holds in 64 bits get an error, not an overflowed buffer (a head dim of 2^58
// with stride 0 once crashed).
TEST(AttentionErrorsTest, SizesBeyondTheKernelsArithmetic) {
  ExpectError(
      [](Args& a) {
        a.q.sizes[3] = a.k.sizes[3] = int64_t{1} << 58;
        a.q.strides[3] = a.k.strides[3] = 0;
      },
      {"'q'", "dim at most 16777216", "288230376151711744"});
  ExpectError(
      [](Args& a) {
        a.v.sizes[3] = a.out.sizes[3] = int64_t{1} << 25;
        a.v.strides[3] = 0;
      },
      {"'v'", "dim at most 16777216"});
  ExpectError(
      [](Args& a) {
        a.q.sizes[0] = a.k.sizes[0] = a.v.sizes[0] = a.out.sizes[0] = int64_t{1} << 31;
        a.q.strides[0] = a.k.strides[0] = a.v.strides[0] = 0;
        a.k.sizes[2] = a.v.sizes[2] = int64_t{1} << 33;
        a.k.strides[2] = a.v.strides[2] = 0;
      },
      {"'q' and 'k'", "batch x heads x nq x nk at most 2^62", "2147483648 x 4 x 5 x 8589934592"});
  ExpectError([](Args& a) { a.q.strides[2] = int64_t{1} << 62; },
              {"'q'", "span fits in 64 bits", "stride 4611686018427387904 on dimension 2"});
  ExpectError([](Args& a) { a.out.strides[1] = -(int64_t{1} << 62); },
              {"'out'", "span fits in 64 bits"});
  ExpectError([](Args& a) { a.options.block_q = 64 * 2048; },
              {"'block_q'", "up to 65536", "131072"});
  ExpectError([](Args& a) { a.options.block_k = 32 * 4096; }, {"'block_k'", "up to 65536"});
}

moa_tensor ToC(const Tensor& t) {
  moa_tensor c{};
  c.data = t.data;
  c.dtype = static_cast<int32_t>(t.dtype);
  c.rank = t.rank;
  for (int i = 0; i < 4; ++i) {
    c.sizes[i] = t.sizes[i];
    c.strides[i] = t.strides[i];
  }
  return c;
}

TEST(AttentionCApiTest, MatchesTheCppApi) {
  Args a, b;
  for (size_t i = 0; i < a.qd.size(); ++i) a.qd[i] = b.qd[i] = std::sin(0.1f * i);
  for (size_t i = 0; i < a.kd.size(); ++i) a.kd[i] = b.kd[i] = std::cos(0.3f * i);
  for (size_t i = 0; i < a.vd.size(); ++i) a.vd[i] = b.vd[i] = std::sin(0.7f * i);
  a.options.is_causal = true;
  a.options.causal_align = CausalAlign::kBottomRight;
  a.options.lse = Tensor::Lse(a.ld.data(), DType::kFloat32, 2, 4, 5);
  a.Run();
  const moa_tensor q = ToC(b.q), k = ToC(b.k), v = ToC(b.v), out = ToC(b.out);
  const moa_tensor lse = ToC(Tensor::Lse(b.ld.data(), DType::kFloat32, 2, 4, 5));
  moa_attention_options o;
  moa_attention_options_init(&o);
  o.is_causal = 1;
  o.causal_bottom_right = 1;
  o.lse = &lse;
  ASSERT_EQ(moa_attention(&q, &k, &v, &out, &o), MOA_OK) << moa_last_error();
  EXPECT_STREQ(moa_last_error(), "");
  EXPECT_EQ(a.od, b.od);
  EXPECT_EQ(a.ld, b.ld);
}

TEST(AttentionCApiTest, ErrorsBecomeStatusAndMessage) {
  Args a;
  moa_tensor q = ToC(a.q), k = ToC(a.k), v = ToC(a.v), out = ToC(a.out);
  EXPECT_EQ(moa_attention(nullptr, &k, &v, &out, nullptr), MOA_INVALID_ARGUMENT);
  EXPECT_NE(std::string(moa_last_error()).find("'q': expected a moa_tensor pointer"), std::string::npos);
  k.dtype = 9;
  EXPECT_EQ(moa_attention(&q, &k, &v, &out, nullptr), MOA_INVALID_ARGUMENT);
  EXPECT_NE(std::string(moa_last_error()).find("'k': expected a moa_dtype value 0 to 3, got 9"),
            std::string::npos);
  k.dtype = MOA_FLOAT32;
  out.sizes[2] = 4;
  EXPECT_EQ(moa_attention(&q, &k, &v, &out, nullptr), MOA_INVALID_ARGUMENT);
  EXPECT_NE(std::string(moa_last_error()).find("'out': expected sizes (2, 4, 5, 3)"), std::string::npos);
  out.sizes[2] = 5;
  moa_attention_options o;
  moa_attention_options_init(&o);
  o.impl = 5;
  EXPECT_EQ(moa_attention(&q, &k, &v, &out, &o), MOA_INVALID_ARGUMENT);
  EXPECT_NE(std::string(moa_last_error()).find("'impl'"), std::string::npos);
  o.impl = MOA_IMPL_NAIVE;
  EXPECT_EQ(moa_attention(&q, &k, &v, &out, &o), MOA_OK) << moa_last_error();
  o.block_q = 64;
  o.block_k = 48;
  EXPECT_EQ(moa_attention(&q, &k, &v, &out, &o), MOA_INVALID_ARGUMENT);
  EXPECT_NE(std::string(moa_last_error()).find("'block_k'"), std::string::npos);
  o.block_k = 32;
  EXPECT_EQ(moa_attention(&q, &k, &v, &out, &o), MOA_OK) << moa_last_error();
  o.impl = MOA_IMPL_FUSED;
  o.kv_splits = -1;
  EXPECT_EQ(moa_attention(&q, &k, &v, &out, &o), MOA_INVALID_ARGUMENT);
  EXPECT_NE(std::string(moa_last_error()).find("'kv_splits'"), std::string::npos);
  o.kv_splits = 3;
  EXPECT_EQ(moa_attention(&q, &k, &v, &out, &o), MOA_OK) << moa_last_error();
}

// Aliasing, the class: each tensor read while the outputs are written (q, k, v, an additive mask)
// placed over each output (out, lse), through the C++ API and the C ABI, is refused with an error
// naming both. A mask over out was once accepted and read after the kernels had overwritten it.
TEST(AttentionErrorsTest, EveryInputDisjointFromEveryOutput) {
  const char* const inputs[] = {"q", "k", "v", "mask"};
  const char* const outputs[] = {"out", "lse"};
  for (const char* input : inputs)
    for (const char* output : outputs) {
      SCOPED_TRACE(std::string(input) + " over " + output);
      Args a;
      std::vector<float> mask(2 * 4 * 5 * 6, 0.0f);
      a.options.mask = Tensor::Bhsd(mask.data(), DType::kFloat32, 2, 4, 5, 6);
      a.options.lse = Tensor::Lse(a.ld.data(), DType::kFloat32, 2, 4, 5);
      // The input's view keeps its sizes; its first elements move onto the output's memory
      // (out holds 120 floats and lse 40: every input's view is at least that long).
      Tensor& in = input[0] == 'q'   ? a.q
                   : input[0] == 'k' ? a.k
                   : input[0] == 'v' ? a.v
                                     : *a.options.mask;
      std::vector<float> arena(in.NumElements() + 256, 0.25f);
      in.data = arena.data();
      Tensor& written = output[0] == 'o' ? a.out : *a.options.lse;
      written.data = arena.data() + 7;
      try {
        a.Run();
        ADD_FAILURE() << "no error";
      } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(std::string("'") + input + "'"), std::string::npos) << what;
        EXPECT_NE(what.find(std::string("'") + output + "'"), std::string::npos) << what;
        EXPECT_NE(what.find("disjoint"), std::string::npos) << what;
      }
      const moa_tensor q = ToC(a.q), k = ToC(a.k), v = ToC(a.v), out = ToC(a.out);
      const moa_tensor c_mask = ToC(*a.options.mask), lse = ToC(*a.options.lse);
      moa_attention_options o;
      moa_attention_options_init(&o);
      o.mask = &c_mask;
      o.lse = &lse;
      EXPECT_EQ(moa_attention(&q, &k, &v, &out, &o), MOA_INVALID_ARGUMENT);
      const std::string message = moa_last_error();
      EXPECT_NE(message.find(std::string("'") + input + "'"), std::string::npos) << message;
      EXPECT_NE(message.find(std::string("'") + output + "'"), std::string::npos) << message;
    }
}

}  // namespace
}  // namespace moa
