// moa cost — the machine description the cost model reads (stage: cost).
// In: measurements of this machine (`moa peak`, MeasureMachine), the operating system's cache
// geometry (sysconf, /sys/devices/system/cpu/cpu0/cache/index*), and published energy constants.
// Out: one plain struct, saved and loaded as a small JSON file that users may edit and pass back
// (`moa cost --machine FILE.json`). Every energy constant carries its source in the JSON too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace moa::cost {

// Element types the model prices. bfloat16 is priced at its own measured rate when `moa peak`
// measured one (AMX or AVX512-BF16), else at the float32 rate (the kernels widen to float32).
enum class Dtype { kFloat64, kFloat32, kBFloat16 };
const char* DtypeName(Dtype dtype);
int DtypeBytes(Dtype dtype);
// "float64" / "f64" / "double", "float32" / "f32" / "float", "bfloat16" / "bf16"; moa::Error else.
Dtype ParseDtype(const std::string& name);

// One data cache level as the OS describes it. `shared` = shared by all cores of the socket.
struct CacheLevel {
  std::string name;  // "L1", "L2", "LLC"
  int64_t bytes = 0;
  int ways = 0;
  int line_bytes = 64;
  bool shared = false;
  // Read bandwidth from this level, bytes/s, one thread and all threads (measured by `moa peak`:
  // a SIMD sum over a buffer of half the level's capacity; 0 when not measured).
  double read_bw_1t = 0;
  double read_bw_all = 0;
};

// An energy constant and where it comes from.
struct Energy {
  double joules = 0;
  std::string source;
};

struct MachineModel {
  std::string cpu;          // model name from /proc/cpuinfo, for the reader
  bool measured = false;    // false: the built-in default description, numbers not of this machine
  int cores = 1;            // online cores
  int line_bytes = 64;
  std::vector<CacheLevel> caches;  // ordered L1, L2, LLC (fastest first); at least one
  // Peak rates per core in flop/s (a fused multiply-add counts 2), measured with independent
  // SIMD FMA chains; `bf16_path` names the unit ("AMX", "AVX512-BF16", "" = not measured).
  double fma_flops_f64 = 0;
  double fma_flops_f32 = 0;
  double fma_flops_bf16 = 0;
  std::string bf16_path;
  double exp_per_s_f32 = 0;  // vector exp (Highway contrib Exp) results/s per core
  double exp_per_s_f64 = 0;
  double dram_bw_1t = 0;     // bytes/s, a read stream over 8x the last-level cache (capped)
  double dram_bw_all = 0;
  // Energy (dynamic only; see machine_model.cc for the sources and their caveats).
  Energy flop_f64, flop_f32, flop_bf16;  // joules per flop
  Energy exp;                             // joules per exp
  // Joules per byte read from (or written back to) each level of the hierarchy.
  Energy byte_l1, byte_l2, byte_llc, byte_dram;
  std::vector<std::string> notes;  // how each number was obtained

  // Peak flop/s per core for `dtype` (bfloat16 falls back to float32 when not measured).
  double FmaFlops(Dtype dtype) const;
  double ExpRate(Dtype dtype) const;
  double FlopEnergy(Dtype dtype) const;
};

// The built-in description: this machine's cache geometry from the OS when readable, otherwise
// 32 KiB / 1 MiB / 32 MiB; rates of a generic 3 GHz AVX2 core. measured = false.
MachineModel DefaultMachine();

// The CPUs this process may run on: its affinity mask (taskset, a container's or a batch job's
// cpuset), else the online CPUs; at least 1. Read once.
int UsableCores();

// This machine's physical memory in bytes (sysconf), 0 when the OS does not say: the bound moa
// holds a run's buffers to before it allocates them (moa run, moa.run).
int64_t PhysicalMemoryBytes();

// Cache geometry from sysconf and /sys/devices/system/cpu/cpu0/cache (empty when unreadable).
std::vector<CacheLevel> OsCaches();

// Measures rates on this machine (about `seconds` in total; each number is the median of 5
// repeats) and fills in cache geometry and the cited energy constants.
MachineModel MeasureMachine(int threads, double seconds = 3.0);

nlohmann::json ToJson(const MachineModel& machine);
// Throws moa::Error naming the missing or malformed field ("machine file: field 'caches[1].bytes'
// must be a positive integer").
MachineModel FromJson(const nlohmann::json& json);
MachineModel LoadMachine(const std::string& path);
void SaveMachine(const MachineModel& machine, const std::string& path);

}  // namespace moa::cost
