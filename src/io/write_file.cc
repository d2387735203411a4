#include "io/write_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "moa/error.h"

namespace moa::io {
namespace {

[[noreturn]] void Fail(const std::string& path, const std::string& what, int error) {
  throw Error((what.empty() ? "" : what + ": ") + "cannot write '" + path + "': " +
              std::strerror(error));
}

}  // namespace

void WriteFile(const std::string& path, std::string_view bytes, const std::string& what) {
  // POSIX calls rather than std::ofstream: a stream keeps no errno, and its buffered writes can
  // fail only at a close whose result the destructor drops.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) Fail(path, what, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      const int error = wrote < 0 ? errno : ENOSPC;
      ::close(fd);
      Fail(path, what, error);
    }
    done += static_cast<size_t>(wrote);
  }
  // close reports the write-back errors of file systems that defer them (NFS, quotas).
  if (::close(fd) != 0 && errno != EINTR) Fail(path, what, errno);
}

class CheckedStandardOutput::Buffer : public std::streambuf {
 public:
  // On a terminal, line-buffered as stdio is there: progress shows when it is printed.
  Buffer() : line_buffered_(::isatty(STDOUT_FILENO) == 1) { setp(data_, data_ + sizeof data_); }
  int error() const { return error_; }

  bool Flush() {
    std::fflush(stdout);  // anything printed through C stdio goes first
    const char* at = pbase();
    while (at < pptr()) {
      const ssize_t wrote = ::write(STDOUT_FILENO, at, static_cast<size_t>(pptr() - at));
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) {
        if (error_ == 0) error_ = wrote < 0 ? errno : EIO;
        break;  // the rest is dropped: the output is broken, and Check() will say why
      }
      at += wrote;
    }
    setp(data_, data_ + sizeof data_);
    return error_ == 0;
  }

 protected:
  int_type overflow(int_type c) override {
    Flush();
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
    if (line_buffered_ && traits_type::to_char_type(c) == '\n') Flush();
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const std::streamsize put = std::streambuf::xsputn(s, n);
    if (line_buffered_ && std::memchr(s, '\n', static_cast<size_t>(n)) != nullptr) Flush();
    return put;
  }
  int sync() override { return Flush() ? 0 : -1; }

 private:
  char data_[1 << 16];
  int error_ = 0;
  bool line_buffered_;
};

CheckedStandardOutput::CheckedStandardOutput()
    : buffer_(new Buffer), previous_(std::cout.rdbuf(buffer_)) {}

CheckedStandardOutput::~CheckedStandardOutput() {
  buffer_->Flush();
  std::cout.rdbuf(previous_);
  delete buffer_;
}

void CheckedStandardOutput::Check() {
  buffer_->Flush();
  if (buffer_->error() != 0)
    throw Error(std::string("cannot write standard output: ") + std::strerror(buffer_->error()));
}

}  // namespace moa::io
