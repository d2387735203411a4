// moa — runtime attention (stage: kernels): the scalar model of the AMX tile operations (see
// amx_emulator.h). Tiles are 16 rows of 64 bytes, as palette 1 has them.
#include "kernels/amx/amx_emulator.h"

#include <cstring>

#include "moa/attention.h"

namespace moa::internal::amx_emulator {
namespace {

constexpr int kTiles = 8, kRows = 16, kRowBytes = 64;

struct TileState {
  int rows[kTiles] = {};
  int colsb[kTiles] = {};
  alignas(64) unsigned char data[kTiles][kRows][kRowBytes] = {};
};
thread_local TileState state;

float Bf16(const unsigned char* p) {
  uint16_t b;
  std::memcpy(&b, p, 2);
  return FloatFromBFloat16(b);
}

}  // namespace

void LoadConfig(const void* config) {
  const unsigned char* c = static_cast<const unsigned char*>(config);
  for (int t = 0; t < kTiles; ++t) {
    uint16_t colsb;
    std::memcpy(&colsb, c + 16 + 2 * t, 2);
    state.colsb[t] = colsb;
    state.rows[t] = c[48 + t];
  }
}

void Release() { state = TileState{}; }

void Zero(int tile) { std::memset(state.data[tile], 0, sizeof(state.data[tile])); }

void Load(int tile, const void* base, long stride) {
  const unsigned char* b = static_cast<const unsigned char*>(base);
  for (int r = 0; r < state.rows[tile]; ++r) {
    std::memcpy(state.data[tile][r], b + r * stride, static_cast<size_t>(state.colsb[tile]));
  }
}

void Store(int tile, void* base, long stride) {
  unsigned char* b = static_cast<unsigned char*>(base);
  for (int r = 0; r < state.rows[tile]; ++r) {
    std::memcpy(b + r * stride, state.data[tile][r], static_cast<size_t>(state.colsb[tile]));
  }
}

void DotBf16(int c, int a, int b) {
  const int m_rows = state.rows[a], n_cols = state.colsb[c] / 4, k_pairs = state.colsb[a] / 4;
  for (int m = 0; m < m_rows; ++m) {
    for (int n = 0; n < n_cols; ++n) {
      float acc;
      std::memcpy(&acc, &state.data[c][m][4 * n], 4);
      for (int k = 0; k < k_pairs; ++k) {
        acc += Bf16(&state.data[a][m][4 * k]) * Bf16(&state.data[b][k][4 * n]);
        acc += Bf16(&state.data[a][m][4 * k + 2]) * Bf16(&state.data[b][k][4 * n + 2]);
      }
      std::memcpy(&state.data[c][m][4 * n], &acc, 4);
    }
  }
}

}  // namespace moa::internal::amx_emulator
