// Error records of liblatentcuda: the thread's last failure (latent_cuda_last_error) and status texts.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "latent_cuda.h"
#include "latent_internal.h"

namespace latent {

namespace {

thread_local char lastError[512] = "";

bool verbose() {
  static const bool on = std::getenv("LATENT_CUDA_VERBOSE") != nullptr;
  return on;
}

}  // namespace

int fail(int code, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vsnprintf(lastError, sizeof(lastError), format, args);
  va_end(args);
  if (verbose()) {
    std::fprintf(stderr, "[latent cuda] %s\n", lastError);
  }
  return code;
}

void recordError(int code, const char* what, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  std::snprintf(lastError, sizeof(lastError), "%s failed at %s:%d: CUDA error %d (%s)", what,
                base != nullptr ? base + 1 : file, line, code, cudaGetErrorString(static_cast<cudaError_t>(code)));
  if (verbose()) {
    std::fprintf(stderr, "[latent cuda] %s\n", lastError);
  }
}

}  // namespace latent

extern "C" {

int latent_cuda_abi_version(void) { return LATENT_CUDA_ABI_VERSION; }

const char* latent_cuda_error_string(int code) {
  switch (code) {
    case 0: return "success";
    case LATENT_CUDA_E_INVALID: return "invalid argument";
    case LATENT_CUDA_E_BAD_ROW: return "database row breaks the vector rule (not finite, too large, or zero under cosine)";
    case LATENT_CUDA_E_TOO_MANY_ROWS: return "too many database rows for 32-bit row indices";
    case LATENT_CUDA_E_K_TOO_LARGE: return "k above the largest supported value (2048)";
    case LATENT_CUDA_E_HOST_ALLOC: return "host memory allocation failed";
    case LATENT_CUDA_E_BAD_QUERY: return "query row breaks the vector rule (not finite, too large, or zero under cosine)";
    case LATENT_CUDA_E_TOO_MANY: return "more range hits than allowed";
    case LATENT_CUDA_E_SCRATCH: return "the scratch limit is too small for this call";
    default: break;
  }
  if (code > 0) {
    return cudaGetErrorString(static_cast<cudaError_t>(code));
  }
  return "unknown Latent CUDA error";
}

const char* latent_cuda_last_error(void) { return latent::lastError; }

}  // extern "C"
