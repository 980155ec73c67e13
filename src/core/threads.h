// One place that decides how many threads squish computes with: all cores unless the user says
// otherwise (--threads). OpenMP drives squish's own kernels and oneDNN (built on OpenMP) follows it.
#pragma once

namespace squish {

int hardware_threads();
// n <= 0 means all cores. Returns the number actually set.
int set_num_threads(int n);
int num_threads();

}  // namespace squish
