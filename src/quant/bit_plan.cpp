#include "quant/bit_plan.h"

#include "core/error.h"
#include "core/file_util.h"
#include "core/tensor.h"
#include "model/common/lowbit_linear_weights.h"
#include "model/common/lowbit_storage.h"

namespace squish {

namespace {

std::string shape_text(const std::array<int64_t, 2>& shape) { return shape_str({shape[0], shape[1]}); }

std::array<int64_t, 2> shape_from_json(const nlohmann::json& j, const std::string& context) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number_integer() || !j[1].is_number_integer() ||
      j[0].get<int64_t>() < 1 || j[1].get<int64_t>() < 1)
    throw FormatError(context + ": expected a shape [rows, columns] of positive integers, found " + j.dump());
  return {j[0].get<int64_t>(), j[1].get<int64_t>()};
}

}  // namespace

PlannedModel planned_model(SequenceModel& model) {
  PlannedModel m;
  m.architecture = model.info().architecture;
  for (const Linear* l : model.linears()) m.linears[l->name] = {l->out_features(), l->in_features()};
  const EmbeddingTable& e = model.mutable_word_embeddings();
  m.embeddings = {e.rows(), e.cols()};
  return m;
}

nlohmann::ordered_json planned_model_json(const PlannedModel& model) {
  nlohmann::ordered_json linears = nlohmann::ordered_json::object();
  for (const auto& [name, shape] : model.linears) linears[name] = shape;
  return {{"architecture", model.architecture}, {"linears", linears}, {"embeddings", model.embeddings}};
}

PlannedModel planned_model_from_json(const nlohmann::json& j, const std::string& context) {
  const auto architecture = j.find("architecture");
  const auto linears = j.find("linears");
  const auto embeddings = j.find("embeddings");
  if (!j.is_object() || architecture == j.end() || !architecture->is_string() || linears == j.end() ||
      !linears->is_object() || embeddings == j.end())
    throw FormatError(context + ": expected {\"architecture\": name, \"linears\": {name: [out, in]}, "
                                "\"embeddings\": [rows, cols]}");
  PlannedModel m;
  m.architecture = architecture->get<std::string>();
  for (const auto& [name, shape] : linears->items())
    m.linears[name] = shape_from_json(shape, context + ".linears['" + name + "']");
  m.embeddings = shape_from_json(*embeddings, context + ".embeddings");
  return m;
}

std::vector<std::string> check_bit_plan(SequenceModel& model, const BitPlan& plan, const std::string& plan_path) {
  const PlannedModel actual = planned_model(model);
  if (plan.model) {
    const PlannedModel& planned = *plan.model;
    const std::string made = plan_path + " was made for another model: ";
    if (planned.architecture != actual.architecture)
      throw UsageError(made + planned.architecture + ", this one is " + actual.architecture);
    // In forward order, so the first difference named is the first the model meets.
    for (const Linear* l : model.linears()) {
      const auto it = planned.linears.find(l->name);
      if (it == planned.linears.end()) throw UsageError(made + "it has no Linear '" + l->name + "' of this model");
      if (it->second != actual.linears.at(l->name))
        throw UsageError(made + "Linear '" + l->name + "' is " + shape_text(it->second) + " there, " +
                         shape_text(actual.linears.at(l->name)) + " here");
    }
    for (const auto& [name, shape] : planned.linears)
      if (!actual.linears.count(name)) throw UsageError(made + "its Linear '" + name + "' is not in this model");
    if (planned.embeddings != actual.embeddings)
      throw UsageError(made + "word embeddings " + shape_text(planned.embeddings) + " there, " +
                       shape_text(actual.embeddings) + " here");
  }
  std::vector<std::string> warnings;
  std::vector<const Linear*> unnamed;
  for (const Linear* l : model.linears())
    if (l->layer >= 0 && !plan.linears.count(l->name)) unnamed.push_back(l);
  if (!unnamed.empty())
    warnings.push_back(plan_path + " names no format for " + std::to_string(unnamed.size()) + " encoder Linear" +
                       (unnamed.size() == 1 ? "" : "s") + " (the first: '" + unnamed.front()->name +
                       "', which stays " + std::string(unnamed.front()->weights->format()) + ")");
  if (!plan.embeddings) warnings.push_back(plan_path + " names no format for the word embeddings: they stay as stored");
  return warnings;
}

BitPlan bit_plan_from_json(const nlohmann::json& j, const std::string& context) {
  if (!j.is_object() || j.value("squish", "") != "bit-plan")
    throw FormatError(context + ": not a squish bit plan (expected a JSON object with \"squish\": \"bit-plan\")");
  const nlohmann::json version = j.value("version", nlohmann::json(nullptr));
  if (!version.is_number_integer() || version.get<int>() < 1 || version.get<int>() > kBitPlanVersion)
    throw FormatError(context + ": bit plan version " + version.dump() + ", this squish reads versions 1 to " +
                      std::to_string(kBitPlanVersion));
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
  if (const auto m = j.find("model"); m != j.end() && !m->is_null())
    plan.model = planned_model_from_json(*m, context + ": \"model\"");
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
  if (plan.model) j["model"] = planned_model_json(*plan.model);
  return j;
}

int apply_bit_plan(SequenceModel& model, const BitPlan& plan, const GroupQuantizer& group_quantizer) {
  std::map<std::string, Linear*> by_name;
  for (Linear* l : model.mutable_linears()) by_name[l->name] = l;
  for (const auto& [name, format] : plan.linears) {
    if (!by_name.count(name))
      throw UsageError("bit plan: Linear '" + name + "' is not in this " + model.info().architecture);
    const WeightFormat f = parse_weight_format(format, "bit plan");
    if (!f.traits->quantize)
      throw UsageError("bit plan: Linear '" + name + "': " + format +
                       " needs calibration; use squish quantize --mode static for it");
    check_format_fits(name, by_name.at(name)->out_features(), by_name.at(name)->in_features(), f);
  }
  int changed = 0;
  for (const auto& [name, format] : plan.linears) {
    Linear& l = *by_name.at(name);
    const WeightFormat f = parse_weight_format(format, "bit plan");
    const Tensor w = linear_dequantize(l);
    if (f.traits->grouped && group_quantizer)
      l.weights = std::make_shared<GroupLinearWeights>(group_quantizer(l, w, f.traits->weight_bits, f.group_size));
    else
      l.weights = quantize_weights_of(l.name, w, f);
    ++changed;
  }
  if (plan.embeddings) {
    EmbeddingTable& table = model.mutable_word_embeddings();
    table = EmbeddingTable::quantized(table.dequantize(), *plan.embeddings);
  }
  return changed;
}

double average_weight_bits(SequenceModel& model) {
  // What is stored, not what a format stores at most: a sparse Linear keeps only its non-zeros.
  double bits = 0, weights = 0;
  for (const Linear* l : model.linears()) {
    bits += 8.0 * static_cast<double>(payload_bytes(l->weights->stored_rows(0, l->out_features())));
    weights += static_cast<double>(l->out_features() * l->in_features());
  }
  const EmbeddingTable& e = model.mutable_word_embeddings();
  bits += 8.0 * static_cast<double>(payload_bytes(e.stored("embeddings")));
  weights += static_cast<double>(e.numel());
  return weights > 0 ? bits / weights : 0;
}

}  // namespace squish
