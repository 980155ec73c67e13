// An OpenMP loop whose body may throw. An exception escaping an OpenMP region terminates the
// process ("terminate called after throwing..."), so each iteration's exception is caught, the
// first one kept, and rethrown on the calling thread after the loop, where main()'s handler
// turns it into a message and an exit code. `chunk` iterations go to a thread at a time: 64 suits
// cheap bodies; a loop over a few heavy tiles passes 1 so that every thread gets work.
#pragma once

#include <cstdint>
#include <exception>

namespace squish {

template <class Body>
void parallel_for(int64_t n, Body&& body, int64_t chunk = 64) {
  std::exception_ptr first_error;
#pragma omp parallel for schedule(dynamic, chunk)
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
