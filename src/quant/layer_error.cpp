#include "quant/layer_error.h"

#include <vector>

#include "model/common/tap.h"

namespace squish {
namespace {

struct ErrorSums {
  double reference = 0, dynamic = 0, static_int8 = 0;
};

double squared_distance(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return s;
}

}  // namespace

void measure_layer_errors(SequenceModel& model, std::span<const TokenBatch> batches,
                          std::map<std::string, LinearVariants>& variants) {
  std::map<std::string, ErrorSums> sums;
  std::vector<float> x, y, yq;
  LinearWorkspace workspace;
  Tap tap;
  tap.mode = Tap::Mode::kObserve;
  tap.fn = [&](const TapPoint& point, const TapView& view) {
    if (point.site != TapSite::kLinearInput) return;
    const auto it = variants.find(point.linear->name);
    if (it == variants.end()) return;
    x.clear();
    for (int64_t r = 0; r < view.rows; ++r)
      if (view.valid_row(r)) x.insert(x.end(), view.data + r * view.cols, view.data + (r + 1) * view.cols);
    const int64_t m = static_cast<int64_t>(x.size()) / view.cols;
    const LinearVariants& v = it->second;
    const auto output = [&](const Linear& l, std::vector<float>& out) {
      out.resize(static_cast<size_t>(m * l.out_features()));
      linear_apply(l, out.data(), x.data(), m, Epilogue::kNone, workspace);
    };
    output(v.fp32, y);
    ErrorSums& s = sums[it->first];
    for (float value : y) s.reference += static_cast<double>(value) * value;
    output(v.dynamic, yq);
    s.dynamic += squared_distance(y, yq);
    if (v.static_int8) {
      output(*v.static_int8, yq);
      s.static_int8 += squared_distance(y, yq);
    }
  };
  ForwardOptions options;
  options.tap = &tap;
  for (const TokenBatch& batch : batches) model.trace(batch, options);
  for (auto& [name, v] : variants) {
    const ErrorSums& s = sums[name];
    const double reference = s.reference > 0 ? s.reference : 1.0;
    v.dynamic_error = s.dynamic / reference;
    v.static_error = s.static_int8 / reference;
  }
}

}  // namespace squish
