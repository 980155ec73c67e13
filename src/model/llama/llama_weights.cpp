#include "model/llama/llama_weights.h"

namespace squish {
namespace {

// Every Linear in forward order; Weights is LlamaWeights or const LlamaWeights.
template <class Weights>
auto linears_of(Weights& w) {
  std::vector<decltype(&w.lm_head)> out;
  for (auto& l : w.layers)
    for (auto* p : {&l.qkv, &l.attention_out, &l.gate_up, &l.down}) out.push_back(p);
  if (!w.tied_head) out.push_back(&w.lm_head);
  return out;
}

}  // namespace

std::vector<std::pair<std::string, int64_t>> LlamaModel::parameter_groups() const {
  int64_t attention = 0, feed_forward = 0, norms = weights.final_norm.numel();
  for (const LlamaLayerWeights& l : weights.layers) {
    attention += linear_parameters(l.qkv) + linear_parameters(l.attention_out);
    feed_forward += linear_parameters(l.gate_up) + linear_parameters(l.down);
    norms += l.input_norm.numel() + l.post_attention_norm.numel();
  }
  std::vector<std::pair<std::string, int64_t>> groups = {{"embeddings", weights.embed_tokens.numel()},
                                                         {"attention", attention},
                                                         {"feed_forward", feed_forward},
                                                         {"norms", norms}};
  if (!weights.tied_head) groups.emplace_back("lm_head", linear_parameters(weights.lm_head));
  return groups;
}

std::vector<const Linear*> LlamaModel::linears() const { return linears_of(weights); }
std::vector<Linear*> LlamaModel::mutable_linears() { return linears_of(weights); }

int64_t LlamaModel::resident_bytes() const {
  int64_t floats = weights.final_norm.numel();
  for (const LlamaLayerWeights& l : weights.layers) floats += l.input_norm.numel() + l.post_attention_norm.numel();
  int64_t bytes = floats * static_cast<int64_t>(sizeof(float)) + weights.embed_tokens.bytes();
  for (const Linear* l : linears()) bytes += linear_bytes(*l);
  return bytes;
}

}  // namespace squish
