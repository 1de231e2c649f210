// error.cpp — goro's error category and goro::error's out-of-line members.
#include "goro/error.hpp"

#include <stdexcept>

namespace goro {
namespace {

class goro_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "goro"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::canceled:
        return "context canceled";
      case errc::deadline_exceeded:
        return "context deadline exceeded";
    }
    return "goro error " + std::to_string(c);
  }
  // deadline_exceeded is a timeout (Go: DeadlineExceeded.Timeout() == true);
  // canceled is an aborted operation.
  std::error_condition default_error_condition(int c) const noexcept override {
    switch (static_cast<errc>(c)) {
      case errc::canceled:
        return std::make_error_condition(std::errc::operation_canceled);
      case errc::deadline_exceeded:
        return std::make_error_condition(std::errc::timed_out);
    }
    return {c, *this};
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const goro_category c;
  return c;
}

std::string error::message() const {
  if (ex_) {
    try {
      std::rethrow_exception(ex_);
    } catch (const std::exception& e) {
      return e.what();
    } catch (...) {
      return "unknown exception";
    }
  }
  return code_ ? code_.message() : std::string();
}

void error::throw_if_error() const {
  if (ex_) std::rethrow_exception(ex_);
  if (code_) throw std::system_error(code_);
}

}  // namespace goro
