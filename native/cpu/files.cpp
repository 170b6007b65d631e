// File mapping for rows that need not stay in memory (latent_cpu.h, "file mapping").
#include "latent_cpu.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

extern "C" {

int64_t latent_cpu_page_size(void) { return static_cast<int64_t>(sysconf(_SC_PAGESIZE)); }

int32_t latent_cpu_map_file(const char *path, int64_t offset, int64_t length, int64_t *address) {
  if (path == nullptr || address == nullptr || offset < 0 || length <= 0 || offset % latent_cpu_page_size() != 0) {
    return LATENT_CPU_EINVAL;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return LATENT_CPU_ENOMEM;
  }
  void *p = mmap(nullptr, static_cast<size_t>(length), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
                 static_cast<off_t>(offset));
  close(fd);
  if (p == MAP_FAILED) {
    return LATENT_CPU_ENOMEM;
  }
  *address = reinterpret_cast<int64_t>(p);
  return LATENT_CPU_OK;
}

int32_t latent_cpu_unmap(int64_t address, int64_t length) {
  if (address == 0 || length <= 0) {
    return LATENT_CPU_EINVAL;
  }
  return munmap(reinterpret_cast<void *>(address), static_cast<size_t>(length)) == 0 ? LATENT_CPU_OK : LATENT_CPU_EINVAL;
}

}  // extern "C"
