#include "registry/parallel.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace bld::registry {

void ParallelFor(size_t count, int workers, std::atomic<bool>& cancel, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr first_error;
  auto work = [&] {
    for (;;) {
      size_t i = next++;
      if (i >= count || cancel) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        cancel = true;
        return;
      }
    }
  };
  size_t threads = std::min(static_cast<size_t>(std::max(workers, 1)), std::max<size_t>(count, 1));
  {
    // jthreads join on the way out, also if starting one of them throws.
    std::vector<std::jthread> helpers;
    for (size_t i = 1; i < threads; ++i) helpers.emplace_back(work);
    work();
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace bld::registry
