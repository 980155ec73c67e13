// An OpenMP loop whose body may throw. An exception escaping an OpenMP region terminates the
// process ("terminate called after throwing..."), so each iteration's exception is caught, the
// first one kept, and rethrown on the calling thread after the loop, where main()'s handler
// turns it into a message and an exit code.
#pragma once

#include <cstdint>
#include <exception>

namespace squish {

template <class Body>
void parallel_for(int64_t n, Body&& body) {
  std::exception_ptr first_error;
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < n; ++i) {
    try {
      body(i);
    } catch (...) {
#pragma omp critical(squish_parallel_for_error)
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace squish
