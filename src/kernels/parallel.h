// moa — runtime attention (stage: kernels, internal): the one place threads are started.
// In: a task count, a worker count and a body. Out: body(task, worker) called once per task.
#pragma once

#include <cstdint>
#include <functional>

namespace moa::internal {

// Runs body(task, worker) for every task in [0, tasks) on `workers` threads (worker in
// [0, workers)), dynamically scheduled, and returns when all are done. body must not throw.
// Built with OpenMP normally; with MOA_KERNELS_NO_OPENMP (the tsan preset) it uses std::thread,
// because libgomp is not built with ThreadSanitizer and its barriers, invisible to TSan, make every
// hand-off between its workers look like a race. The std::thread path has the same semantics, so
// TSan checks the kernels' own memory accesses soundly instead of libgomp's.
void ParallelFor(int64_t tasks, int workers, const std::function<void(int64_t, int)>& body);

}  // namespace moa::internal
