// moa io — writing a whole file, and knowing that it was written. Every file moa writes (.npy
// outputs, LaTeX, reports, machine descriptions) goes through WriteFile, and what the commands
// print through CheckedStandardOutput, so that a full disk or a bad path is an error naming the
// file and the OS's reason, never a "written to" over nothing.
#pragma once

#include <streambuf>
#include <string>
#include <string_view>

namespace moa::io {

// Writes `bytes` to `path` (created or truncated) and closes it, checking every step; throws
// moa::Error "`what`: cannot write 'path': <the OS's reason>" otherwise. `what` names where the
// path came from (a flag, e.g. "--output"), or is empty.
void WriteFile(const std::string& path, std::string_view bytes, const std::string& what);

// While it lives, std::cout writes standard output through a buffer of its own that keeps the
// OS's reason for the first failed write (stdio's keeps only a flag, and errno is long gone by
// the time anyone asks). Check() flushes it and throws moa::Error "cannot write standard output:
// <reason>" when any write failed (stdout redirected to a full disk, /dev/full).
class CheckedStandardOutput {
 public:
  CheckedStandardOutput();
  ~CheckedStandardOutput();
  CheckedStandardOutput(const CheckedStandardOutput&) = delete;
  CheckedStandardOutput& operator=(const CheckedStandardOutput&) = delete;
  void Check();

 private:
  class Buffer;
  Buffer* buffer_;
  std::streambuf* previous_;
};

}  // namespace moa::io
