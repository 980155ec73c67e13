#include "model/opt/opt_weights.h"

namespace squish {
namespace {

// Every Linear in forward order; Weights is OptWeights or const OptWeights.
template <class Weights>
auto linears_of(Weights& w, bool tied_head) {
  std::vector<decltype(&w.lm_head)> out;
  for (auto& l : w.layers)
    for (auto* p : {&l.qkv, &l.attention_out, &l.fc1, &l.fc2}) out.push_back(p);
  if (!tied_head) out.push_back(&w.lm_head);
  return out;
}

int64_t norm_floats(const OptLayerNorm& n) { return n.weight.numel() + n.bias.numel(); }

}  // namespace

std::vector<const Linear*> OptModel::linears() const { return linears_of(weights, config.tie_word_embeddings); }
std::vector<Linear*> OptModel::mutable_linears() { return linears_of(weights, config.tie_word_embeddings); }

int64_t OptModel::resident_bytes() const {
  int64_t floats = weights.embed_positions.numel() + norm_floats(weights.final_norm);
  for (const OptLayerWeights& l : weights.layers) floats += norm_floats(l.attention_norm) + norm_floats(l.ffn_norm);
  int64_t bytes = floats * static_cast<int64_t>(sizeof(float)) + weights.embed_tokens.bytes();
  for (const Linear* l : linears()) bytes += linear_bytes(*l);
  return bytes;
}

}  // namespace squish
