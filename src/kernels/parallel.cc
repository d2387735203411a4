// moa — runtime attention (stage: kernels, internal): OpenMP or std::thread task loop.
#include "kernels/parallel.h"

#include <algorithm>

#ifdef MOA_KERNELS_NO_OPENMP
#include <atomic>
#include <thread>
#include <vector>
#else
#include <omp.h>
#endif

namespace moa::internal {

void ParallelFor(int64_t tasks, int workers, const std::function<void(int64_t, int)>& body) {
  workers = static_cast<int>(std::clamp<int64_t>(workers, 1, std::max<int64_t>(tasks, 1)));
  if (workers == 1) {
    for (int64_t t = 0; t < tasks; ++t) body(t, 0);
    return;
  }
#ifdef MOA_KERNELS_NO_OPENMP
  std::atomic<int64_t> next{0};
  auto run = [&](int worker) {
    for (int64_t t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) body(t, worker);
  };
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (int w = 1; w < workers; ++w) threads.emplace_back(run, w);
  run(0);
  for (auto& thread : threads) thread.join();
#else
  // Tasks are whole (batch, head, query block) tiles of similar cost except under a causal mask,
  // where early query blocks stop sooner; dynamic scheduling balances both.
#pragma omp parallel num_threads(workers)
  {
    const int worker = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) body(t, worker);
  }
#endif
}

}  // namespace moa::internal
