// The structures structured pruning removes whole, as data every architecture shares: per layer,
// its attention heads and its feed-forward neurons. What a structure's parameters are, how it is
// scored from them and how a model is rebuilt without it belong to the architecture
// (TrainableClassifier, model/common/trainable_classifier.h); choosing which go is prune/structured.h's.
#pragma once

#include <cstdint>
#include <vector>

namespace squish {

enum class Structure { kHeads, kNeurons };

// Importance per structure, higher = more important.
struct StructureScores {
  std::vector<std::vector<double>> heads;    // L × NH_l
  std::vector<std::vector<double>> neurons;  // L × FF_l
};

// What survives: per layer, the kept head indices and kept neuron indices, ascending.
struct StructureKeep {
  std::vector<std::vector<int64_t>> heads;    // L lists, each non-empty
  std::vector<std::vector<int64_t>> neurons;  // L lists, each non-empty
};

}  // namespace squish
