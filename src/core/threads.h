// One place that decides how many threads squish computes with, and how they wait: all cores unless
// the user says otherwise (--threads). OpenMP drives squish's own kernels and oneDNN (built on OpenMP)
// follows it.
#pragma once

#include <string>

namespace squish {

int hardware_threads();
// What n <= 0 means: the CPUs this process may run on (a launcher's binding, taskset, Slurm's -c)
// shared by the ranks of this run on this machine, so ranks x threads never exceed the cores
// (collectives then slow down 50-80x).
int default_threads();
// n <= 0 means default_threads(). Returns the number actually set.
int set_num_threads(int n);
int num_threads();

// libgomp's idle threads spin ~300,000 times (a few ms) before they sleep. Beside another program
// computing on the same cores, that spinning takes the CPU from the threads doing the work: a
// BERT-base forward took 19x its idle time, the tiny model's eval 225x. A short spin keeps idle speed
// and gives a near-fair share (2.0x and 2.3x; bench/busy_machine.sh measures it). libgomp reads its
// settings from the environment when it is loaded, before main(), so this sets GOMP_SPINCOUNT and
// re-executes the program once (/proc/self/exe, same argv, same pid). Call it first thing in main(),
// before any output or thread.
// It returns without doing anything when the user set OMP_WAIT_POLICY, OMP_WAIT_POLICY_ALL or
// GOMP_SPINCOUNT (their choice stands, and after the re-exec this is how it knows it is done), when
// it already ran in this process, or when the re-exec fails (libgomp's default then stays in force).
void configure_threading(char** argv);

// How OpenMP threads wait in this process, for reports: "GOMP_SPINCOUNT=815",
// "OMP_WAIT_POLICY=passive", ... or "libgomp default" when none of the variables is set.
std::string thread_wait_policy();

}  // namespace squish
