// config.json of a HF model directory → BertConfig, with every field checked: an unknown
// model_type or architecture, a non-GELU activation, relative position embeddings or sizes that
// do not divide are ConfigErrors naming the file and the field. squish's own key
// "squish_layer_sizes" gives per-layer head and FFN-neuron counts after structured pruning
// (docs/formats.md); each list has one entry per layer in [1, the uniform value].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/bert/bert_config.h"

namespace squish {

BertConfig parse_bert_config_file(const std::string& path);
BertConfig parse_bert_config_text(const std::string& json_text, const std::string& path_for_errors);

// config.json text with "squish_layer_sizes" set to the given per-layer sizes (an empty list: that
// size is uniform, and the key is left out when both are), every other key kept in its order. A
// uniform model's text comes back unchanged.
std::string config_text_with_layer_sizes(const std::string& json_text, const std::vector<int64_t>& layer_heads,
                                        const std::vector<int64_t>& layer_intermediate_sizes,
                                        const std::string& path_for_errors);

}  // namespace squish
