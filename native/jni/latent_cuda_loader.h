// Run-time loader of liblatentcuda.so for the JNI binding (dev.latent.compute.cuda.CudaNative).
//
// The JNI library is built by g++ without the CUDA toolkit and has no link-time dependency on
// liblatentcuda.so or on CUDA: latent_cudal_load() opens the library with dlopen from a path chosen
// by Java and fills a table of function pointers with dlsym; every other latent_cudal_* function
// forwards through that table and returns LATENT_CUDAL_E_NOT_LOADED until the load succeeded.
// Only declarations are taken from latent_cuda.h (for the function types), never definitions. The
// table, the binding and the forwarders are generated from the lists in latent_cuda_api.h.
#ifndef LATENT_CUDA_LOADER_H
#define LATENT_CUDA_LOADER_H

#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "latent_cuda.h"

/// liblatentcuda.so has not been loaded (or its load failed).
#define LATENT_CUDAL_E_NOT_LOADED (-100)
/// dlopen or dlsym failed; the detail is in the error buffer.
#define LATENT_CUDAL_E_DLOPEN (-101)
/// The library's latent_cuda_abi_version() differs from the header this binding was built with.
#define LATENT_CUDAL_E_ABI (-102)
/// A different library path was already loaded in this process.
#define LATENT_CUDAL_E_OTHER_PATH (-103)

namespace latent_cudal {

/// Pointers to the C API of liblatentcuda.so, filled once by latent_cudal_load().
struct Table {
#define LATENT_CUDAL_SLOT_INFO(ret, name, params, args) decltype(&::latent_cuda_##name) name = nullptr;
#define LATENT_CUDAL_SLOT_CALL(name, params, args) decltype(&::latent_cuda_##name) name = nullptr;
  LATENT_CUDA_INFO(LATENT_CUDAL_SLOT_INFO)
  LATENT_CUDA_CALLS(LATENT_CUDAL_SLOT_CALL)
#undef LATENT_CUDAL_SLOT_INFO
#undef LATENT_CUDAL_SLOT_CALL
};

inline Table& table() {
  static Table t;
  return t;
}

/// Set (release) after the table is complete; read (acquire) before every forward.
inline std::atomic<bool>& loaded() {
  static std::atomic<bool> flag(false);
  return flag;
}

inline std::mutex& loadMutex() {
  static std::mutex m;
  return m;
}

inline std::string& loadedPath() {
  static std::string path;
  return path;
}

inline void copyError(char* error, int capacity, const char* text) {
  if (error != nullptr && capacity > 0) {
    std::snprintf(error, static_cast<size_t>(capacity), "%s", text);
  }
}

template <typename F>
inline bool bind(void* lib, const char* name, F& slot, char* error, int capacity) {
  dlerror();
  void* p = dlsym(lib, name);
  if (p == nullptr) {
    const char* why = dlerror();
    std::string text = std::string("dlsym(") + name + ") failed: " + (why != nullptr ? why : "symbol is null");
    copyError(error, capacity, text.c_str());
    return false;
  }
  slot = reinterpret_cast<F>(p);
  return true;
}

inline const Table* ready() { return loaded().load(std::memory_order_acquire) ? &table() : nullptr; }

}  // namespace latent_cudal

/// Loads liblatentcuda.so from `path` (idempotent for the same path). Returns 0, or a
/// LATENT_CUDAL_E_* code with a message in `error` (NUL-terminated, at most `capacity` bytes).
inline int latent_cudal_load(const char* path, char* error, int capacity) {
  using namespace latent_cudal;
  copyError(error, capacity, "");
  if (path == nullptr) {
    copyError(error, capacity, "null library path");
    return LATENT_CUDAL_E_DLOPEN;
  }
  std::lock_guard<std::mutex> lock(loadMutex());
  if (loaded().load(std::memory_order_acquire)) {
    if (loadedPath() == path) {
      return 0;
    }
    std::string text = "liblatentcuda.so is already loaded from " + loadedPath();
    copyError(error, capacity, text.c_str());
    return LATENT_CUDAL_E_OTHER_PATH;
  }
  dlerror();
  // RTLD_LOCAL: the library's symbols (and its static CUDA runtime) stay out of the global namespace.
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    std::string text = std::string("dlopen(") + path + ") failed: " + (why != nullptr ? why : "unknown error");
    copyError(error, capacity, text.c_str());
    return LATENT_CUDAL_E_DLOPEN;
  }
  Table t;
  bool ok = true;
#define LATENT_CUDAL_BIND_INFO(ret, name, params, args) ok = ok && bind(lib, "latent_cuda_" #name, t.name, error, capacity);
#define LATENT_CUDAL_BIND_CALL(name, params, args) ok = ok && bind(lib, "latent_cuda_" #name, t.name, error, capacity);
  LATENT_CUDA_INFO(LATENT_CUDAL_BIND_INFO)
  LATENT_CUDA_CALLS(LATENT_CUDAL_BIND_CALL)
#undef LATENT_CUDAL_BIND_INFO
#undef LATENT_CUDAL_BIND_CALL
  if (!ok) {
    dlclose(lib);
    return LATENT_CUDAL_E_DLOPEN;
  }
  const int abi = t.abi_version();
  if (abi != LATENT_CUDA_ABI_VERSION) {
    char text[256];
    std::snprintf(text, sizeof(text),
                  "liblatentcuda.so has ABI version %d but the Java binding expects %d "
                  "(class files and native library do not match)",
                  abi, LATENT_CUDA_ABI_VERSION);
    copyError(error, capacity, text);
    dlclose(lib);
    return LATENT_CUDAL_E_ABI;
  }
  // The library stays loaded for the life of the process (no dlclose: handles may outlive any caller).
  table() = t;
  loadedPath() = path;
  loaded().store(true, std::memory_order_release);
  return 0;
}

/// 1 once latent_cudal_load succeeded.
inline int latent_cudal_is_loaded() { return latent_cudal::ready() != nullptr ? 1 : 0; }

inline int latent_cudal_abi_version() {
  const latent_cudal::Table* t = latent_cudal::ready();
  return t != nullptr ? t->abi_version() : LATENT_CUDAL_E_NOT_LOADED;
}

/// Text of a status code, including the loader's own codes.
inline const char* latent_cudal_error_string(int code) {
  switch (code) {
    case LATENT_CUDAL_E_NOT_LOADED: return "liblatentcuda.so is not loaded";
    case LATENT_CUDAL_E_DLOPEN: return "liblatentcuda.so could not be opened";
    case LATENT_CUDAL_E_ABI: return "liblatentcuda.so has a different ABI version";
    case LATENT_CUDAL_E_OTHER_PATH: return "liblatentcuda.so was loaded from another path";
    default: break;
  }
  const latent_cudal::Table* t = latent_cudal::ready();
  return t != nullptr ? t->error_string(code) : "liblatentcuda.so is not loaded";
}

inline const char* latent_cudal_last_error() {
  const latent_cudal::Table* t = latent_cudal::ready();
  return t != nullptr ? t->last_error() : "";
}

/// One forwarder per status function of the list: the library's answer, or LATENT_CUDAL_E_NOT_LOADED.
#define LATENT_CUDAL_FORWARD(name, params, args)                  \
  inline int latent_cudal_##name params {                          \
    const latent_cudal::Table* t = latent_cudal::ready();          \
    return t != nullptr ? t->name args : LATENT_CUDAL_E_NOT_LOADED; \
  }
LATENT_CUDA_CALLS(LATENT_CUDAL_FORWARD)
#undef LATENT_CUDAL_FORWARD

#endif  // LATENT_CUDA_LOADER_H
