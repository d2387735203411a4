// moa cost — the machine description: OS cache geometry, defaults, cited energy, JSON.
#include "cost/machine_model.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "io/write_file.h"
#include "moa/error.h"

namespace moa::cost {
namespace {

using nlohmann::json;

// Energy constants. All are dynamic energies of one operation or one access; none includes the
// core's instruction overhead, clocking or static power, so predicted energy is a lower bound of
// what the package draws. Horowitz's numbers are for a 45 nm process at 0.9 V (2014) and are
// indicative only for a current 7/5 nm-class server part: they fix the ratios (a DRAM byte costs
// ~100x an L1 byte, ~100x a float32 flop), not the absolute joules.
constexpr const char* kHorowitz =
    "M. Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014, "
    "45 nm 0.9 V table";
Energy Cite(double picojoules, const std::string& detail) {
  return Energy{picojoules * 1e-12, std::string(kHorowitz) + ": " + detail};
}

void SetCitedEnergy(MachineModel& m) {
  // float32: FAdd 0.9 pJ + FMult 3.7 pJ for one multiply-add = 2 flops.
  m.flop_f32 = Cite(4.6 / 2, "32-bit FAdd 0.9 pJ + FMult 3.7 pJ per multiply-add (2 flops)");
  // 16-bit: FAdd 0.4 pJ + FMult 1.1 pJ (IEEE half; bfloat16's 8-bit mantissa multiplier is smaller).
  m.flop_bf16 = Cite(1.5 / 2, "16-bit FAdd 0.4 pJ + FMult 1.1 pJ per multiply-add (fp16 figures)");
  // float64 is not in Horowitz's table. Keckler, Dally, Khailany, Garland, Glasco, 'GPUs and the
  // future of parallel computing', IEEE Micro 31(5), 2011, Fig. 1: ~20 pJ per 64-bit
  // double-precision FMA (28 nm projection).
  m.flop_f64 = Energy{10e-12,
                      "Keckler et al., 'GPUs and the future of parallel computing', IEEE Micro "
                      "31(5) 2011, Fig. 1: ~20 pJ per 64-bit DP FMA (2 flops), 28 nm"};
  // No published per-exp energy for a CPU: a Highway-style vector exp is a range reduction and a
  // degree-~6 polynomial, about 10 multiply-adds, so 10 float32 FMAs. A moa estimate.
  m.exp = Energy{10 * 4.6e-12, "moa estimate: ~10 float32 multiply-adds per exp (range reduction "
                               "+ polynomial), priced with Horowitz's 32-bit FAdd+FMult"};
  // Cache: 64-bit access of an 8 KB SRAM 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ; DRAM 1.3-2.6 nJ per
  // 64-bit access. L1 (32-48 KB) uses the 32 KB figure, L2 and the LLC the 1 MB figure (larger
  // arrays cost more in wires, so the LLC number is low), DRAM the midpoint 1.95 nJ.
  m.byte_l1 = Cite(20.0 / 8, "32 KB cache, 64-bit access 20 pJ");
  m.byte_l2 = Cite(100.0 / 8, "1 MB cache, 64-bit access 100 pJ");
  m.byte_llc = Cite(100.0 / 8, "1 MB cache, 64-bit access 100 pJ (no larger array in the table)");
  m.byte_dram = Cite(1950.0 / 8, "DRAM 1.3-2.6 nJ per 64-bit access, midpoint 1.95 nJ");
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

// "48K", "2048K", "300M" as /sys writes them.
int64_t ParseSize(const std::string& text) {
  if (text.empty()) return 0;
  char* end = nullptr;
  int64_t v = std::strtoll(text.c_str(), &end, 10);
  if (end && (*end == 'K' || *end == 'k')) v *= 1024;
  if (end && (*end == 'M' || *end == 'm')) v *= 1024 * 1024;
  if (end && (*end == 'G' || *end == 'g')) v *= int64_t{1024} * 1024 * 1024;
  return v;
}

std::string CpuName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

}  // namespace

const char* DtypeName(Dtype dtype) {
  switch (dtype) {
    case Dtype::kFloat64: return "float64";
    case Dtype::kFloat32: return "float32";
    case Dtype::kBFloat16: return "bfloat16";
  }
  return "?";
}

int DtypeBytes(Dtype dtype) {
  switch (dtype) {
    case Dtype::kFloat64: return 8;
    case Dtype::kFloat32: return 4;
    case Dtype::kBFloat16: return 2;
  }
  return 0;
}

Dtype ParseDtype(const std::string& name) {
  if (name == "float64" || name == "f64" || name == "double") return Dtype::kFloat64;
  if (name == "float32" || name == "f32" || name == "float") return Dtype::kFloat32;
  if (name == "bfloat16" || name == "bf16") return Dtype::kBFloat16;
  throw Error("dtype: expected float64, float32 or bfloat16, got '" + name + "'");
}

double MachineModel::FmaFlops(Dtype dtype) const {
  switch (dtype) {
    case Dtype::kFloat64: return fma_flops_f64;
    case Dtype::kFloat32: return fma_flops_f32;
    case Dtype::kBFloat16: return fma_flops_bf16 > 0 ? fma_flops_bf16 : fma_flops_f32;
  }
  return 0;
}

double MachineModel::ExpRate(Dtype dtype) const {
  // bfloat16 softmax runs in float32 in the kernels.
  return dtype == Dtype::kFloat64 ? exp_per_s_f64 : exp_per_s_f32;
}

double MachineModel::FlopEnergy(Dtype dtype) const {
  switch (dtype) {
    case Dtype::kFloat64: return flop_f64.joules;
    case Dtype::kFloat32: return flop_f32.joules;
    case Dtype::kBFloat16: return flop_bf16.joules;
  }
  return 0;
}

std::vector<CacheLevel> OsCaches() {
  std::vector<CacheLevel> out;
  for (int index = 0; index < 10; ++index) {
    const std::string dir =
        "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    const std::string type = ReadFirstLine(dir + "type");
    if (type.empty()) continue;
    if (type == "Instruction") continue;
    CacheLevel c;
    const int level = std::atoi(ReadFirstLine(dir + "level").c_str());
    c.bytes = ParseSize(ReadFirstLine(dir + "size"));
    c.ways = std::atoi(ReadFirstLine(dir + "ways_of_associativity").c_str());
    const int line = std::atoi(ReadFirstLine(dir + "coherency_line_size").c_str());
    if (line > 0) c.line_bytes = line;
    const std::string shared = ReadFirstLine(dir + "shared_cpu_list");
    c.shared = shared.find_first_of(",-") != std::string::npos;
    if (level <= 0 || c.bytes <= 0) continue;
    c.name = "L" + std::to_string(level);
    out.push_back(c);
  }
  if (out.empty()) {
    // sysconf answers on glibc even where /sys is hidden.
    const long sizes[3] = {sysconf(_SC_LEVEL1_DCACHE_SIZE), sysconf(_SC_LEVEL2_CACHE_SIZE),
                           sysconf(_SC_LEVEL3_CACHE_SIZE)};
    const long ways[3] = {sysconf(_SC_LEVEL1_DCACHE_ASSOC), sysconf(_SC_LEVEL2_CACHE_ASSOC),
                          sysconf(_SC_LEVEL3_CACHE_ASSOC)};
    const long line = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
    for (int i = 0; i < 3; ++i) {
      if (sizes[i] <= 0) continue;
      CacheLevel c;
      c.name = "L" + std::to_string(i + 1);
      c.bytes = sizes[i];
      c.ways = ways[i] > 0 ? static_cast<int>(ways[i]) : 0;
      c.line_bytes = line > 0 ? static_cast<int>(line) : 64;
      c.shared = i == 2;
      out.push_back(c);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const CacheLevel& a, const CacheLevel& b) { return a.name < b.name; });
  if (!out.empty()) out.back().name = "LLC";
  if (out.size() > 1) out.back().shared = true;
  return out;
}

int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  int64_t bytes = 0;
  if (pages <= 0 || page <= 0 || __builtin_mul_overflow(int64_t{pages}, int64_t{page}, &bytes)) return 0;
  return bytes;
}

int UsableCores() {
  // Read once: glibc reads /sys on every hardware_concurrency() call, and the kernels ask on every
  // attention call (three system calls each: 6.1 of the 7.6 us a one-query call of one head took,
  // moa_kernel_bench --benchmark_filter=CallOverhead).
  static const int cores = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }();
  return cores;
}

MachineModel DefaultMachine() {
  MachineModel m;
  m.cpu = CpuName();
  m.measured = false;
  m.cores = UsableCores();
  m.caches = OsCaches();
  if (m.caches.empty()) {
    m.caches = {CacheLevel{"L1", 32 << 10, 8, 64, false, 0, 0},
                CacheLevel{"L2", 1 << 20, 16, 64, false, 0, 0},
                CacheLevel{"LLC", 32 << 20, 16, 64, true, 0, 0}};
  }
  m.line_bytes = m.caches.front().line_bytes;
  // A generic 3 GHz core with two 256-bit FMA units: 3e9 x 2 x 2 x lanes.
  m.fma_flops_f64 = 3e9 * 2 * 2 * 4;
  m.fma_flops_f32 = 3e9 * 2 * 2 * 8;
  m.exp_per_s_f32 = 3e9 * 8 / 10;  // ~10 cycles per 8-lane vector exp
  m.exp_per_s_f64 = 3e9 * 4 / 10;
  const double l1 = 3e9 * 64, l2 = 3e9 * 32, llc = 3e9 * 12;  // bytes/cycle x clock
  for (CacheLevel& c : m.caches) {
    c.read_bw_1t = c.name == "L1" ? l1 : c.name == "L2" ? l2 : llc;
    c.read_bw_all = c.read_bw_1t * (c.shared ? std::min(m.cores, 4) : m.cores);
  }
  m.dram_bw_1t = 10e9;
  m.dram_bw_all = std::min(m.cores, 4) * 10e9;
  SetCitedEnergy(m);
  m.notes.push_back(
      "UNMEASURED default description: rates are those of a generic 3 GHz AVX2 core, not of this "
      "machine; run `moa peak --output FILE` and pass --machine FILE");
  return m;
}

// ---- JSON ----------------------------------------------------------------------------------

json ToJson(const MachineModel& m) {
  json caches = json::array();
  for (const CacheLevel& c : m.caches) {
    caches.push_back({{"name", c.name},
                      {"bytes", c.bytes},
                      {"ways", c.ways},
                      {"line_bytes", c.line_bytes},
                      {"shared", c.shared},
                      {"read_bw_1t", c.read_bw_1t},
                      {"read_bw_all", c.read_bw_all}});
  }
  auto energy = [](const Energy& e) { return json{{"joules", e.joules}, {"source", e.source}}; };
  return json{{"format", "moa-machine-1"},
              {"cpu", m.cpu},
              {"measured", m.measured},
              {"cores", m.cores},
              {"line_bytes", m.line_bytes},
              {"caches", caches},
              {"fma_flops_f64", m.fma_flops_f64},
              {"fma_flops_f32", m.fma_flops_f32},
              {"fma_flops_bf16", m.fma_flops_bf16},
              {"bf16_path", m.bf16_path},
              {"exp_per_s_f32", m.exp_per_s_f32},
              {"exp_per_s_f64", m.exp_per_s_f64},
              {"dram_bw_1t", m.dram_bw_1t},
              {"dram_bw_all", m.dram_bw_all},
              {"energy",
               {{"flop_f64", energy(m.flop_f64)},
                {"flop_f32", energy(m.flop_f32)},
                {"flop_bf16", energy(m.flop_bf16)},
                {"exp", energy(m.exp)},
                {"byte_l1", energy(m.byte_l1)},
                {"byte_l2", energy(m.byte_l2)},
                {"byte_llc", energy(m.byte_llc)},
                {"byte_dram", energy(m.byte_dram)}}},
              {"notes", m.notes}};
}

namespace {

const json& Field(const json& obj, const std::string& key, const std::string& path) {
  UserCheck(obj.is_object(), "machine file: '", path.empty() ? "(top level)" : path,
            "' must be an object");
  const auto it = obj.find(key);
  UserCheck(it != obj.end(), "machine file: missing field '", path + key, "'");
  return *it;
}

double NonNegative(const json& obj, const std::string& key, const std::string& path,
                   bool positive) {
  const json& v = Field(obj, key, path);
  UserCheck(v.is_number() && v.get<double>() >= 0 && (!positive || v.get<double>() > 0),
            "machine file: field '", path + key, "' must be a ", positive ? "positive" : "non-negative",
            " number, got ", v.dump());
  return v.get<double>();
}

// An integer in [lo, hi]: the model sizes tables by these numbers (one entry per cache set), so a
// value past any real machine's is refused here rather than allocated.
int64_t IntIn(const json& obj, const std::string& key, const std::string& path, int64_t lo, int64_t hi) {
  const json& v = Field(obj, key, path);
  UserCheck(v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{1} << 62) &&
                v.get<int64_t>() >= lo && v.get<int64_t>() <= hi,
            "machine file: field '", path + key, "' must be an integer from ", lo, " to ", hi, ", got ", v.dump());
  return v.get<int64_t>();
}

int64_t PositiveInt(const json& obj, const std::string& key, const std::string& path, int64_t hi) {
  return IntIn(obj, key, path, 1, hi);
}

std::string String(const json& obj, const std::string& key, const std::string& path) {
  const json& v = Field(obj, key, path);
  UserCheck(v.is_string(), "machine file: field '", path + key, "' must be a string, got ",
            v.dump());
  return v.get<std::string>();
}

bool Bool(const json& obj, const std::string& key, const std::string& path) {
  const json& v = Field(obj, key, path);
  UserCheck(v.is_boolean(), "machine file: field '", path + key, "' must be true or false, got ",
            v.dump());
  return v.get<bool>();
}

Energy ReadEnergy(const json& obj, const std::string& key) {
  const std::string path = "energy." + key + ".";
  const json& e = Field(obj, key, "energy.");
  return Energy{NonNegative(e, "joules", path, false), String(e, "source", path)};
}

}  // namespace

MachineModel FromJson(const json& j) {
  MachineModel m;
  const std::string format = String(j, "format", "");
  UserCheck(format == "moa-machine-1", "machine file: field 'format' must be \"moa-machine-1\", got \"",
            format, "\"");
  m.cpu = String(j, "cpu", "");
  m.measured = Bool(j, "measured", "");
  m.cores = static_cast<int>(PositiveInt(j, "cores", "", 1 << 20));
  m.line_bytes = static_cast<int>(PositiveInt(j, "line_bytes", "", 1 << 16));
  const json& caches = Field(j, "caches", "");
  UserCheck(caches.is_array() && !caches.empty(),
            "machine file: field 'caches' must be a non-empty array");
  for (size_t i = 0; i < caches.size(); ++i) {
    const std::string path = "caches[" + std::to_string(i) + "].";
    CacheLevel c;
    c.name = String(caches[i], "name", path);
    c.bytes = PositiveInt(caches[i], "bytes", path, int64_t{1} << 40);  // 1 TiB
    c.ways = static_cast<int>(IntIn(caches[i], "ways", path, 0, 1 << 16));
    c.line_bytes = static_cast<int>(PositiveInt(caches[i], "line_bytes", path, 1 << 16));
    c.shared = Bool(caches[i], "shared", path);
    c.read_bw_1t = NonNegative(caches[i], "read_bw_1t", path, true);
    c.read_bw_all = NonNegative(caches[i], "read_bw_all", path, true);
    UserCheck(i == 0 || c.bytes > m.caches.back().bytes, "machine file: field '", path,
              "bytes' must exceed the previous level's (", m.caches.empty() ? 0 : m.caches.back().bytes,
              "): levels are listed fastest first");
    m.caches.push_back(c);
  }
  m.fma_flops_f64 = NonNegative(j, "fma_flops_f64", "", true);
  m.fma_flops_f32 = NonNegative(j, "fma_flops_f32", "", true);
  m.fma_flops_bf16 = NonNegative(j, "fma_flops_bf16", "", false);
  m.bf16_path = String(j, "bf16_path", "");
  m.exp_per_s_f32 = NonNegative(j, "exp_per_s_f32", "", true);
  m.exp_per_s_f64 = NonNegative(j, "exp_per_s_f64", "", true);
  m.dram_bw_1t = NonNegative(j, "dram_bw_1t", "", true);
  m.dram_bw_all = NonNegative(j, "dram_bw_all", "", true);
  const json& e = Field(j, "energy", "");
  m.flop_f64 = ReadEnergy(e, "flop_f64");
  m.flop_f32 = ReadEnergy(e, "flop_f32");
  m.flop_bf16 = ReadEnergy(e, "flop_bf16");
  m.exp = ReadEnergy(e, "exp");
  m.byte_l1 = ReadEnergy(e, "byte_l1");
  m.byte_l2 = ReadEnergy(e, "byte_l2");
  m.byte_llc = ReadEnergy(e, "byte_llc");
  m.byte_dram = ReadEnergy(e, "byte_dram");
  if (j.contains("notes")) {
    const json& notes = j.at("notes");
    UserCheck(notes.is_array(), "machine file: field 'notes' must be an array of strings");
    for (const json& n : notes) {
      UserCheck(n.is_string(), "machine file: field 'notes' must be an array of strings");
      m.notes.push_back(n.get<std::string>());
    }
  }
  return m;
}

MachineModel LoadMachine(const std::string& path) {
  std::ifstream in(path);
  UserCheck(static_cast<bool>(in), "--machine: cannot open '", path, "'");
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    throw Error("--machine: '" + path + "' is not valid JSON: " + e.what());
  }
  return FromJson(j);
}

void SaveMachine(const MachineModel& machine, const std::string& path) {
  io::WriteFile(path, ToJson(machine).dump(2) + "\n", "--output");
}

}  // namespace moa::cost
