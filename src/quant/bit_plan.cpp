#include "quant/bit_plan.h"

#include "core/error.h"
#include "core/file_util.h"
#include "model/common/lowbit_linear_weights.h"
#include "model/common/lowbit_storage.h"

namespace squish {

BitPlan bit_plan_from_json(const nlohmann::json& j, const std::string& context) {
  if (!j.is_object() || j.value("squish", "") != "bit-plan")
    throw FormatError(context + ": not a squish bit plan (expected a JSON object with \"squish\": \"bit-plan\")");
  if (j.value("version", 0) != kBitPlanVersion)
    throw FormatError(context + ": bit plan version " + j.value("version", nlohmann::json(nullptr)).dump() +
                      ", this squish reads version " + std::to_string(kBitPlanVersion));
  BitPlan plan;
  const auto linears = j.find("linears");
  if (linears == j.end() || !linears->is_object())
    throw FormatError(context + ": bit plan without a \"linears\" object");
  for (const auto& [name, format] : linears->items()) {
    if (!format.is_string())
      throw FormatError(context + ": linears['" + name + "']: expected a format name, found " + format.dump());
    plan.linears[name] = parse_weight_format(format.get<std::string>(), context + ": linears['" + name + "']").name();
  }
  if (const auto e = j.find("embeddings"); e != j.end() && !e->is_null()) {
    if (!e->is_string()) throw FormatError(context + ": \"embeddings\": expected a format name, found " + e->dump());
    check_embedding_format(e->get<std::string>(), context + ": \"embeddings\"");
    plan.embeddings = e->get<std::string>();
  }
  return plan;
}

BitPlan read_bit_plan(const std::string& path) {
  const nlohmann::json j = nlohmann::json::parse(read_file(path), nullptr, false);
  if (j.is_discarded()) throw FormatError(path + ": not valid JSON");
  return bit_plan_from_json(j, path);
}

nlohmann::ordered_json bit_plan_json(const BitPlan& plan) {
  nlohmann::ordered_json j = {{"squish", "bit-plan"}, {"version", kBitPlanVersion}};
  j["linears"] = plan.linears;
  j["embeddings"] = plan.embeddings ? nlohmann::ordered_json(*plan.embeddings) : nlohmann::ordered_json(nullptr);
  return j;
}

int apply_bit_plan(SequenceModel& model, const BitPlan& plan, const GroupQuantizer& group_quantizer) {
  std::map<std::string, Linear*> by_name;
  for (Linear* l : model.mutable_linears()) by_name[l->name] = l;
  for (const auto& [name, format] : plan.linears) {
    if (!by_name.count(name))
      throw UsageError("bit plan: Linear '" + name + "' is not in this " + model.info().architecture);
    if (!parse_weight_format(format, "bit plan").traits->quantize)
      throw UsageError("bit plan: Linear '" + name + "': " + format +
                       " needs calibration; use squish quantize --mode static for it");
  }
  int changed = 0;
  for (const auto& [name, format] : plan.linears) {
    Linear& l = *by_name.at(name);
    const WeightFormat f = parse_weight_format(format, "bit plan");
    const Tensor w = linear_dequantize(l);
    if (f.traits->grouped && group_quantizer)
      l.weights = std::make_shared<GroupLinearWeights>(group_quantizer(l, w, f.traits->weight_bits, f.group_size));
    else
      l.weights = f.traits->quantize(w, f.group_size);
    ++changed;
  }
  if (plan.embeddings) {
    EmbeddingTable& table = model.mutable_word_embeddings();
    table = EmbeddingTable::quantized(table.dequantize(), *plan.embeddings);
  }
  return changed;
}

double average_weight_bits(SequenceModel& model) {
  double bits = 0, weights = 0;
  for (const Linear* l : model.linears()) {
    const WeightFormat f = parse_weight_format(l->weights->format(), l->name);
    bits += 8.0 * static_cast<double>(f.traits->stored_bytes(l->out_features(), l->in_features(), f.group_size));
    weights += static_cast<double>(l->out_features() * l->in_features());
  }
  const EmbeddingTable& e = model.mutable_word_embeddings();
  bits += 8.0 * static_cast<double>(embedding_stored_bytes(e.format(), e.rows(), e.cols()));
  weights += static_cast<double>(e.numel());
  return weights > 0 ? bits / weights : 0;
}

}  // namespace squish
