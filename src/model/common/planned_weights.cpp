#include "model/common/planned_weights.h"

#include "core/error.h"

namespace squish {

PlannedWeights::PlannedWeights(const ContainerPlan& plan, TensorBinder& binder, std::string file)
    : plan_(plan), file_(std::move(file)), lookup_([&binder](const std::string& name) { return binder.find(name); }) {}

std::shared_ptr<const LinearWeights> PlannedWeights::linear(const std::string& linear,
                                                            const std::vector<LinearPart>& parts, int64_t in_features) {
  const auto it = plan_.linears.find(linear);
  if (it == plan_.linears.end())
    throw FormatError(file_ + ": the container's plan does not list Linear '" + linear + "'");
  read_.insert(linear);
  const WeightFormat f = parse_weight_format(it->second, file_);
  return f.traits->read(parts, in_features, f.group_size, lookup_, file_);
}

std::optional<EmbeddingTable> PlannedWeights::table(const std::string& module, int64_t rows, int64_t cols) {
  if (plan_.embeddings == "f32") return std::nullopt;
  return EmbeddingTable::read(plan_.embeddings, module, rows, cols, lookup_, file_);
}

void PlannedWeights::check_all_read(const std::string& architecture) const {
  for (const auto& [linear, format] : plan_.linears)
    if (!read_.count(linear))
      throw FormatError(file_ + ": the container's plan names Linear '" + linear + "', which this " + architecture +
                        " does not have");
}

}  // namespace squish
