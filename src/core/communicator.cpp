#include "core/communicator.h"

#include <cstdlib>

namespace squish {
namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte> mine) override {
    return {std::vector<std::byte>(mine.begin(), mine.end())};
  }
  void sum_in_place(std::span<float>) override {}
  void sum_in_place(std::span<double>) override {}
  [[noreturn]] void abort(int exit_code) override { std::exit(exit_code); }
};

SingleProcess single_process;
Communicator* installed = &single_process;

}  // namespace

Communicator& world() { return *installed; }

void install_world(Communicator* c) { installed = c ? c : &single_process; }

void end_every_rank(int exit_code) {
  installed->abort(exit_code);
  std::_Exit(exit_code);  // an implementation's abort that returned
}

}  // namespace squish
