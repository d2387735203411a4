// Traffic check driver (bench/cachegrind_traffic.sh runs it). Two modes:
//   --predict: prints the cost model's bytes moved into a D1 and an LL cache of the given sizes
//              (moa::cost::Traffic on the ONF of the form; no kernel runs);
//   otherwise: runs the form once as plain C++ whose loops are the ONF's, in the function
//              MoaTrafficKernel, after evicting the inputs from the caches, so that
//              `valgrind --tool=cachegrind` attributes to that function only the kernel's misses.
// The kernels mirror src/cost/attention_forms.cc loop for loop (float32, row-major).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cost/attention_forms.h"
#include "cost/footprint.h"
#include "moa/error.h"

namespace {

struct Args {
  std::string form = "naive";
  int64_t n = 256, d = 32, bq = 32, bk = 32;
  int64_t d1 = 32 << 10, ll = 256 << 10;
  int line = 64, d1_ways = 8, ll_ways = 8;
  bool predict = false;
};

using F = float;

struct Problem {
  int64_t n, m, dk, dv;
  std::vector<F> q, k, v, out, s, p;  // s, p: naive S and P, or the lifted tiles
  std::vector<F> oacc, mrow, zrow;
};

// Naive: S = q·kᵀ/√dk blocked by 64 rows, softmax row by row, out = P·v blocked by 64 rows.
void Naive(Problem& pr) {
  const int64_t n = pr.n, m = pr.m, dk = pr.dk, dv = pr.dv, bg = std::min<int64_t>(n, 64);
  const F scale = std::sqrt(static_cast<F>(dk));
  for (int64_t ib = 0; ib < n / bg; ++ib)
    for (int64_t l = 0; l < m; ++l)
      for (int64_t ii = 0; ii < bg; ++ii) {
        const int64_t r = ib * bg + ii;
        F acc = 0;
        for (int64_t c = 0; c < dk; ++c) acc += pr.q[r * dk + c] * pr.k[l * dk + c];
        pr.s[r * m + l] = acc / scale;
      }
  for (int64_t i = 0; i < n; ++i) {
    F mx = -INFINITY;
    for (int64_t l = 0; l < m; ++l) mx = std::max(mx, pr.s[i * m + l]);
    for (int64_t l = 0; l < m; ++l) pr.p[i * m + l] = std::exp(pr.s[i * m + l] - mx);
    F z = 0;
    for (int64_t l = 0; l < m; ++l) z += pr.p[i * m + l];
    for (int64_t l = 0; l < m; ++l) pr.p[i * m + l] = pr.p[i * m + l] / z;
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < dv; ++j) pr.out[i * dv + j] = 0;
  for (int64_t ib = 0; ib < n / bg; ++ib)
    for (int64_t l = 0; l < m; ++l)
      for (int64_t ii = 0; ii < bg; ++ii)
        for (int64_t j = 0; j < dv; ++j) {
          const int64_t r = ib * bg + ii;
          pr.out[r * dv + j] += pr.p[r * m + l] * pr.v[l * dv + j];
        }
}

F Dot(const Problem& pr, int64_t i, int64_t l) {
  F acc = 0;
  for (int64_t c = 0; c < pr.dk; ++c) acc += pr.q[i * pr.dk + c] * pr.k[l * pr.dk + c];
  return acc;
}

// The three-pass DNF as onf::Lower emits it (pass 3 iterates j outside l).
void ThreePass(Problem& pr) {
  const F scale = std::sqrt(static_cast<F>(pr.dk));
  for (int64_t i = 0; i < pr.n; ++i) {
    F mx = -INFINITY;
    for (int64_t r = 0; r < pr.m; ++r) mx = std::max(mx, Dot(pr, i, r) / scale);
    F z = 0;
    for (int64_t p = 0; p < pr.m; ++p) z += std::exp(Dot(pr, i, p) / scale - mx);
    for (int64_t j = 0; j < pr.dv; ++j) {
      F acc = 0;
      for (int64_t l = 0; l < pr.m; ++l)
        acc += std::exp(Dot(pr, i, l) / scale - mx) * pr.v[l * pr.dv + j];
      pr.out[i * pr.dv + j] = acc / z;
    }
  }
}

// One pass, online softmax, query tiles of bq and key tiles of bk.
void Lifted(Problem& pr, int64_t bq, int64_t bk) {
  const int64_t dk = pr.dk, dv = pr.dv;
  const F scale = std::sqrt(static_cast<F>(dk));
  F* s = pr.s.data();
  for (int64_t qb = 0; qb < pr.n / bq; ++qb) {
    for (int64_t qi = 0; qi < bq; ++qi) {
      pr.mrow[qi] = -INFINITY;
      pr.zrow[qi] = 0;
      for (int64_t j = 0; j < dv; ++j) pr.oacc[qi * dv + j] = 0;
    }
    for (int64_t kb = 0; kb < pr.m / bk; ++kb) {
      for (int64_t qi = 0; qi < bq; ++qi)
        for (int64_t kl = 0; kl < bk; ++kl) {
          F acc = 0;
          for (int64_t c = 0; c < dk; ++c)
            acc += pr.q[(qb * bq + qi) * dk + c] * pr.k[(kb * bk + kl) * dk + c];
          s[qi * bk + kl] = acc / scale;
        }
      for (int64_t qi = 0; qi < bq; ++qi) {
        F mx = pr.mrow[qi];
        for (int64_t kl = 0; kl < bk; ++kl) mx = std::max(mx, s[qi * bk + kl]);
        const F corr = std::exp(pr.mrow[qi] - mx);
        F rs = 0;
        for (int64_t kl = 0; kl < bk; ++kl) {
          s[qi * bk + kl] = std::exp(s[qi * bk + kl] - mx);
          rs += s[qi * bk + kl];
        }
        pr.zrow[qi] = pr.zrow[qi] * corr + rs;
        for (int64_t j = 0; j < dv; ++j) {
          F acc = pr.oacc[qi * dv + j] * corr;
          for (int64_t kl = 0; kl < bk; ++kl) acc += s[qi * bk + kl] * pr.v[(kb * bk + kl) * dv + j];
          pr.oacc[qi * dv + j] = acc;
        }
        pr.mrow[qi] = mx;
      }
    }
    for (int64_t qi = 0; qi < bq; ++qi)
      for (int64_t j = 0; j < dv; ++j)
        pr.out[(qb * bq + qi) * dv + j] = pr.oacc[qi * dv + j] / pr.zrow[qi];
  }
}

}  // namespace

// Not inlined and not static: cachegrind reports misses per function, this is the one measured.
extern "C" __attribute__((noinline)) void MoaTrafficKernel(Problem* pr, const Args* a) {
  if (a->form == "naive") {
    Naive(*pr);
  } else if (a->form == "dnf") {
    ThreePass(*pr);
  } else {
    Lifted(*pr, a->bq, a->bk);
  }
}

namespace {

// Reads a buffer of 4x the LL so no input line is left in any simulated cache.
__attribute__((noinline)) double Evict(int64_t ll) {
  std::vector<char> junk(static_cast<size_t>(4 * ll), 1);
  double sum = 0;
  for (size_t i = 0; i < junk.size(); i += 64) sum += junk[i];
  return sum;
}

int64_t Int(const char* flag, const char* text) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  moa::UserCheck(end && *end == '\0' && v > 0, flag, ": expected a positive integer, got '", text, "'");
  return v;
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--predict") {
      a.predict = true;
      continue;
    }
    moa::UserCheck(i + 1 < argc, f, ": missing value");
    const char* v = argv[++i];
    if (f == "--form") a.form = v;
    else if (f == "--n") a.n = Int("--n", v);
    else if (f == "--d") a.d = Int("--d", v);
    else if (f == "--bq") a.bq = Int("--bq", v);
    else if (f == "--bk") a.bk = Int("--bk", v);
    else if (f == "--d1") a.d1 = Int("--d1", v);
    else if (f == "--ll") a.ll = Int("--ll", v);
    else if (f == "--line") a.line = static_cast<int>(Int("--line", v));
    else if (f == "--d1-ways") a.d1_ways = static_cast<int>(Int("--d1-ways", v));
    else if (f == "--ll-ways") a.ll_ways = static_cast<int>(Int("--ll-ways", v));
    else throw moa::Error("unknown flag '" + f + "'");
  }
  moa::UserCheck(a.form == "naive" || a.form == "dnf" || a.form == "lifted",
                 "--form: naive, dnf or lifted, got '", a.form, "'");
  moa::UserCheck(a.form != "lifted" || (a.n % a.bq == 0 && a.n % a.bk == 0),
                 "--bq and --bk must divide --n");
  moa::UserCheck(a.form != "naive" || a.n % std::min<int64_t>(a.n, 64) == 0,
                 "--n must be a multiple of 64 (or below it) for the naive form");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = Parse(argc, argv);
    const moa::cost::Form form = a.form == "naive" ? moa::cost::Form::kNaive
                                 : a.form == "dnf" ? moa::cost::Form::kDnf
                                                   : moa::cost::Form::kLifted;
    if (a.predict) {
      const auto onf = moa::cost::AttentionOnf(form);
      const auto sizes = moa::cost::AttentionSizes(form, a.n, a.n, a.d, a.d, a.bq, a.bk);
      double d1 = 0, ll = 0;
      for (const auto& [name, b] : moa::cost::Traffic(onf, sizes, {a.d1, a.line, 4, 1, a.d1_ways})) d1 += b.loaded;
      for (const auto& [name, b] : moa::cost::Traffic(onf, sizes, {a.ll, a.line, 4, 1, a.ll_ways})) ll += b.loaded;
      std::printf("%.0f %.0f\n", d1, ll);
      return 0;
    }
    Problem pr{a.n, a.n, a.d, a.d, {}, {}, {}, {}, {}, {}, {}, {}, {}};
    uint32_t seed = 1;
    auto fill = [&](std::vector<F>& x, int64_t count) {
      x.resize(static_cast<size_t>(count));
      for (F& e : x) {
        seed = seed * 1664525u + 1013904223u;
        e = static_cast<F>(seed >> 8) / (1 << 24) - 0.5f;
      }
    };
    fill(pr.q, a.n * a.d);
    fill(pr.k, a.n * a.d);
    fill(pr.v, a.n * a.d);
    pr.out.assign(static_cast<size_t>(a.n * a.d), 0);
    if (a.form == "naive") {
      pr.s.assign(static_cast<size_t>(a.n * a.n), 0);
      pr.p.assign(static_cast<size_t>(a.n * a.n), 0);
    } else if (a.form == "lifted") {
      pr.s.assign(static_cast<size_t>(a.bq * a.bk), 0);
      pr.oacc.assign(static_cast<size_t>(a.bq * a.d), 0);
      pr.mrow.assign(static_cast<size_t>(a.bq), 0);
      pr.zrow.assign(static_cast<size_t>(a.bq), 0);
    }
    const double junk = Evict(a.ll);
    MoaTrafficKernel(&pr, &a);
    double check = 0;
    for (F x : pr.out) check += x;
    std::printf("checksum %.6g %g\n", check, junk > 0 ? 0.0 : 1.0);
    return 0;
  } catch (const moa::Error& e) {
    std::fprintf(stderr, "traffic_driver: error: %s\n", e.what());
    return 2;
  }
}
