// From a HF model directory to a BertModel and back: config.json, then the weights file (any
// container io/weights_file.h knows, told by its bytes), bound to the weight structs by walking
// the name table (bert_tensor_table.h) forward; saving walks it backward. Name variants accepted
// on load: with or without the "bert." prefix, LayerNorm.weight/bias or the older
// LayerNorm.gamma/beta.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors_writer.h"
#include "model/bert/bert_weights.h"
#include "model/common/linear_formats.h"

namespace squish {

BertModel load_bert_model(const std::string& model_dir);

// Binds named tensors to a BertModel. `file` is named in errors: a missing tensor, a wrong shape
// ("tensor X: expected [768, 768], found [768, 3072] in model.safetensors") or a non-float dtype.
// `unused`, when given, receives the stored names the architecture did not take. With a `plan`
// (squish's container) each Linear is read by its planned format (model/common/linear_formats.h);
// a plan that misses a Linear or names one the model lacks is a FormatError.
BertModel bert_from_tensors(const BertConfig& config, const TensorMap& tensors, const std::string& file,
                            std::vector<std::string>* unused = nullptr, const ContainerPlan* plan = nullptr);

// Random weights of the right shapes (normal, std 0.02 like HF's init; LayerNorm 1/0), for
// benchmarks and shape tests. Deterministic for a seed. Always has a pooler and classifier.
BertModel random_bert(const BertConfig& config, uint64_t seed);

// Gives a model without a classification head a seeded random one (and a random pooler when none is
// stored), so an encoder can be benchmarked end to end like a classifier.
void add_random_head(BertModel& model, uint64_t seed);

// Parameter counts by group (embeddings, attention, feed_forward, layer_norms, pooler, classifier)
// of a model of this config, from the name table's shapes.
std::vector<std::pair<std::string, int64_t>> bert_parameter_groups(const BertConfig& config, bool with_pooler,
                                                                   bool with_classifier);

// Every tensor of the model under its HF name, in the layout transformers loads
// ("bert."-prefixed for a *ForSequenceClassification model, as HF saves it), as F32 or F16; Linears
// dequantized.
std::vector<TensorToWrite> bert_checkpoint_tensors(const BertModel& model, DType dtype);
// The same names for squish's container: each Linear module in its own format's tensors, every
// float tensor lossless (F16 where exact).
std::vector<TensorToWrite> bert_container_tensors(const BertModel& model);

}  // namespace squish
