// Thread-local detail messages: the context that camure_last_error_detail() reports.
#include "collectives/last_error.hpp"

namespace camure::collectives {
namespace {
// initial-exec: every API call clears it, and the default model for a shared library costs a
// __tls_get_addr call (one more code page touched after each context switch). A few bytes of
// the static TLS surplus that glibc keeps for this also cover a dlopen()ed libcamure.
[[gnu::tls_model("initial-exec")]] thread_local std::string tl_detail;
}

void set_last_error(std::string detail) { tl_detail = std::move(detail); }
void clear_last_error() { tl_detail.clear(); }
const char *last_error() noexcept { return tl_detail.c_str(); }

void fail(std::error_code &ec, std::error_code code, const std::string &context, const std::string &detail) {
  ec = code;
  set_last_error(context + ": " + (detail.empty() ? code.message() : detail));
}

} // namespace camure::collectives
