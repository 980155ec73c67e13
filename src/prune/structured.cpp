#include "prune/structured.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"

namespace squish {
namespace {

std::vector<std::vector<int64_t>> keep_all(const std::vector<std::vector<double>>& per_layer) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& layer : per_layer) {
    std::vector<int64_t> all(layer.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    out.push_back(std::move(all));
  }
  return out;
}

}  // namespace

std::vector<double> flat_scores(const StructureScores& scores) {
  std::vector<double> flat;
  for (const auto* part : {&scores.heads, &scores.neurons})
    for (const std::vector<double>& layer : *part) flat.insert(flat.end(), layer.begin(), layer.end());
  return flat;
}

void add_flat_scores(StructureScores& scores, std::span<const double> values) {
  const size_t expected = flat_scores(scores).size();
  if (values.size() != expected)
    throw ShapeError("structure scores: " + std::to_string(values.size()) + " values for " + std::to_string(expected) +
                     " scores");
  const double* next = values.data();
  for (auto* part : {&scores.heads, &scores.neurons})
    for (std::vector<double>& layer : *part)
      for (double& score : layer) score += *next++;
}

int64_t structure_multiple(Structure which, int64_t head_size) {
  return which == Structure::kHeads ? kWidthGranule / std::gcd(kWidthGranule, head_size) : kWidthGranule;
}

StructureKeep select_structures(const StructureScores& scores, double fraction, Structure which, int64_t multiple) {
  if (!(fraction >= 0.0 && fraction <= 1.0))
    throw UsageError("structured pruning: the fraction to remove must be in [0, 1], found " + std::to_string(fraction));
  if (scores.heads.size() != scores.neurons.size())
    throw ShapeError("structure scores: " + std::to_string(scores.heads.size()) + " layers of head scores but " +
                     std::to_string(scores.neurons.size()) + " of neuron scores");
  const auto& per_layer = which == Structure::kHeads ? scores.heads : scores.neurons;
  const char* what = which == Structure::kHeads ? "head" : "neuron";

  struct Candidate {
    double score;
    int64_t layer, index;
  };
  std::vector<Candidate> candidates;
  std::vector<int64_t> remaining;
  for (size_t l = 0; l < per_layer.size(); ++l) {
    const std::vector<double>& layer = per_layer[l];
    if (layer.empty()) throw ShapeError("structure scores: layer " + std::to_string(l) + " has no " + what + " scores");
    double squares = 0.0;
    for (size_t i = 0; i < layer.size(); ++i) {
      if (!std::isfinite(layer[i]))
        throw DataError("structure scores: layer " + std::to_string(l) + " " + what + " " + std::to_string(i) +
                        " has a non-finite score " + std::to_string(layer[i]));
      squares += layer[i] * layer[i];
    }
    // A layer of all-zero scores stays all zero rather than dividing by zero.
    const double norm = std::sqrt(squares);
    for (size_t i = 0; i < layer.size(); ++i)
      candidates.push_back({norm > 0 ? layer[i] / norm : 0.0, static_cast<int64_t>(l), static_cast<int64_t>(i)});
    remaining.push_back(static_cast<int64_t>(layer.size()));
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score < b.score;
    return a.layer != b.layer ? a.layer < b.layer : a.index < b.index;
  });

  const int64_t target = std::llround(fraction * static_cast<double>(candidates.size()));
  std::vector<std::vector<bool>> removed;
  for (const auto& layer : per_layer) removed.emplace_back(layer.size(), false);
  int64_t count = 0;
  for (const Candidate& c : candidates) {
    if (count == target) break;
    if (remaining[static_cast<size_t>(c.layer)] == 1) continue;  // a layer's last one stays
    removed[static_cast<size_t>(c.layer)][static_cast<size_t>(c.index)] = true;
    --remaining[static_cast<size_t>(c.layer)];
    ++count;
  }

  if (multiple > 1) {
    // Per layer, in score order: the lowest-scored kept go first, the highest-scored removed come back first.
    for (size_t l = 0; l < per_layer.size(); ++l) {
      const int64_t size = static_cast<int64_t>(per_layer[l].size());
      const int64_t kept = remaining[l];
      const int64_t want = std::clamp((kept + multiple / 2) / multiple * multiple, std::min(multiple, size), size);
      std::vector<const Candidate*> layer;
      for (const Candidate& c : candidates)
        if (c.layer == static_cast<int64_t>(l)) layer.push_back(&c);
      int64_t k = kept;
      for (auto it = layer.begin(); it != layer.end() && k > want; ++it)  // lowest score first
        if (!removed[l][static_cast<size_t>((*it)->index)]) {
          removed[l][static_cast<size_t>((*it)->index)] = true;
          --k;
        }
      for (auto it = layer.rbegin(); it != layer.rend() && k < want; ++it)  // highest score first
        if (removed[l][static_cast<size_t>((*it)->index)]) {
          removed[l][static_cast<size_t>((*it)->index)] = false;
          ++k;
        }
    }
  }

  StructureKeep keep{keep_all(scores.heads), keep_all(scores.neurons)};
  auto& chosen = which == Structure::kHeads ? keep.heads : keep.neurons;
  for (size_t l = 0; l < chosen.size(); ++l)
    std::erase_if(chosen[l], [&](int64_t i) { return removed[l][static_cast<size_t>(i)]; });
  return keep;
}

StructureKeep keep_everything(const StructureScores& sizes) { return {keep_all(sizes.heads), keep_all(sizes.neurons)}; }

}  // namespace squish
