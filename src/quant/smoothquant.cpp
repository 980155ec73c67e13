#include "quant/smoothquant.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/parallel.h"
#include "quant/channel_scales.h"
#include "quant/linear_inputs.h"

namespace squish {
namespace {

float spread(std::vector<float> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  const float median = v[v.size() / 2];
  const float top = *std::max_element(v.begin(), v.end());
  return median > 0 ? top / median : 0.0f;
}

// Each smoothable activation's per-channel minimum and maximum over every calibration token, and,
// when max_rows > 0, an even subsample of its rows. Measured once on the model as given: every
// smoothing keeps the function, so the statistics stay valid while the others are applied.
struct ActivationStatistics {
  std::vector<float> lo, hi;
  std::vector<float> rows;  // [rows, k], the subsample
};

std::map<const Linear*, ActivationStatistics> observe_activations(SequenceModel& model,
                                                                  std::span<const TokenBatch> batches,
                                                                  const std::vector<SmoothableInput>& inputs,
                                                                  int64_t max_rows) {
  std::map<const Linear*, ActivationStatistics> stats;  // by each activation's first reader
  for (const SmoothableInput& in : inputs) {
    ActivationStatistics& s = stats[in.readers.front()];
    s.lo.assign(static_cast<size_t>(in.readers.front()->in_features()), 0.0f);
    s.hi = s.lo;
  }
  const int64_t stride = max_rows > 0 ? even_subsample_stride(batches, max_rows) : 0;
  std::map<const Linear*, int64_t> seen;
  observe_linear_inputs(
      model, batches, [&](const Linear& l) { return stats.contains(&l); },
      [&](const Linear& l, const float* x, int64_t rows) {
        ActivationStatistics& s = stats.at(&l);
        const auto k = static_cast<int64_t>(s.lo.size());
        int64_t& index = seen[&l];
        for (int64_t r = 0; r < rows; ++r, ++index) {
          for (int64_t j = 0; j < k; ++j) {
            s.lo[static_cast<size_t>(j)] = std::min(s.lo[static_cast<size_t>(j)], x[r * k + j]);
            s.hi[static_cast<size_t>(j)] = std::max(s.hi[static_cast<size_t>(j)], x[r * k + j]);
          }
          if (stride > 0 && index % stride == 0) s.rows.insert(s.rows.end(), x + r * k, x + (r + 1) * k);
        }
      });
  return stats;
}

// w_j = max |W[:, j]| over the rows of every reader.
std::vector<float> weight_absmax(const SmoothableInput& in, int64_t k) {
  std::vector<float> w(static_cast<size_t>(k), 0.0f);
  for (const Linear* l : in.readers) {
    const Tensor t = fp32_weights_to_scale(*l);
    for (int64_t r = 0; r < t.dim(0); ++r)
      for (int64_t j = 0; j < k; ++j)
        w[static_cast<size_t>(j)] = std::max(w[static_cast<size_t>(j)], std::fabs(t.data()[r * k + j]));
  }
  return w;
}

// The paper's s_j = max(a_j^α / w_j^(1−α), 1e-5), 1 where a_j or w_j is 0.
std::vector<float> smoothing_scales(const std::vector<float>& a, const std::vector<float>& w, double alpha) {
  std::vector<float> s(a.size());
  for (size_t j = 0; j < s.size(); ++j)
    s[j] = a[j] > 0 && w[j] > 0
               ? std::max(static_cast<float>(std::pow(a[j], alpha) / std::pow(w[j], 1.0 - alpha)), 1e-5f)
               : 1.0f;
  return s;
}

std::vector<float> absolute_maxima(const ActivationStatistics& s) {
  std::vector<float> a(s.lo.size());
  for (size_t j = 0; j < a.size(); ++j) a[j] = std::max(std::fabs(s.lo[j]), std::fabs(s.hi[j]));
  return a;
}

// Applies s and records what it did to the activation's outliers.
SmoothedInput smooth(SmoothableInput& in, const std::vector<float>& a, const std::vector<float>& s, double alpha) {
  std::vector<float> after(a.size());
  for (size_t j = 0; j < a.size(); ++j) after[j] = a[j] / s[j];
  apply_channel_scales(in, s);
  const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
  SmoothedInput out;
  out.producer = in.name;
  out.alpha = alpha;
  out.min_scale = *lo;
  out.max_scale = *hi;
  out.activation_max_before = *std::max_element(a.begin(), a.end());
  out.activation_max_after = *std::max_element(after.begin(), after.end());
  out.activation_spread_before = spread(a);
  out.activation_spread_after = spread(after);
  return out;
}

void check_smoothable(const SequenceModel& model, const std::vector<SmoothableInput>& inputs) {
  if (inputs.empty())
    throw UsageError(model.info().architecture +
                     " has no pre-norm blocks: its norms also feed the residual stream, so SmoothQuant cannot "
                     "fold scales into them");
}

// The readers' int8 output error Σ‖X Wᵀ − Q(X / s) Q(W·diag(s))ᵀ‖² on the rows x [rows, k], each
// reader quantized by quantize_linear as the run will (bias left out: it cancels).
double int8_output_error(const float* x, int64_t rows, const ReaderReference& reference,
                         const std::vector<const Linear*>& readers, const ActivationStatistics& stats,
                         const std::vector<float>& s, const SmoothQuantAutoOptions& options) {
  const int64_t k = static_cast<int64_t>(s.size());
  std::vector<float> scaled_x(static_cast<size_t>(rows * k));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j) scaled_x[static_cast<size_t>(r * k + j)] = x[r * k + j] / s[static_cast<size_t>(j)];
  std::optional<ActivationRange> range;
  if (options.static_activations) {
    ActivationRange whole{0.0f, 0.0f};
    for (size_t j = 0; j < s.size(); ++j) {
      whole.lo = std::min(whole.lo, stats.lo[j] / s[j]);
      whole.hi = std::max(whole.hi, stats.hi[j] / s[j]);
    }
    range = whole;
  }
  LinearWorkspace ws;
  double error = 0;
  std::vector<float> y;
  for (size_t r = 0; r < readers.size(); ++r) {
    const Linear* reader = readers[r];
    const Linear probe = quantize_linear(make_linear(reader->name, reader->role, reader->layer,
                                                     scaled_columns(reference.weights[r], s), Tensor(), reader->parts),
                                         options.int8, range);
    y.resize(static_cast<size_t>(rows * reader->out_features()));
    linear_apply(probe, y.data(), scaled_x.data(), rows, Epilogue::kNone, ws);
    const float* want = reference.outputs[r].data();
    for (size_t i = 0; i < y.size(); ++i)
      error += (static_cast<double>(y[i]) - want[i]) * (static_cast<double>(y[i]) - want[i]);
  }
  return error;
}

}  // namespace

SmoothQuantResult smooth_quant(SequenceModel& model, std::span<const TokenBatch> batches, double alpha) {
  if (!(alpha >= 0.0 && alpha <= 1.0)) throw UsageError("--smoothquant " + std::to_string(alpha) + ": expected 0..1");
  std::vector<SmoothableInput> inputs = model.smoothable_inputs();
  check_smoothable(model, inputs);
  const std::map<const Linear*, ActivationStatistics> stats = observe_activations(model, batches, inputs, 0);
  SmoothQuantResult result;
  result.alpha = alpha;
  for (SmoothableInput& in : inputs) {
    const std::vector<float> a = absolute_maxima(stats.at(in.readers.front()));
    const std::vector<float> s = smoothing_scales(a, weight_absmax(in, static_cast<int64_t>(a.size())), alpha);
    result.inputs.push_back(smooth(in, a, s, alpha));
  }
  return result;
}

SmoothQuantResult smooth_quant_auto(SequenceModel& model, std::span<const TokenBatch> batches,
                                    const SmoothQuantAutoOptions& options) {
  std::vector<SmoothableInput> inputs = model.smoothable_inputs();
  check_smoothable(model, inputs);
  const std::map<const Linear*, ActivationStatistics> stats =
      observe_activations(model, batches, inputs, options.max_rows);
  SmoothQuantResult result;
  result.automatic = true;
  for (SmoothableInput& in : inputs) {
    const ActivationStatistics& st = stats.at(in.readers.front());
    const auto k = static_cast<int64_t>(st.lo.size());
    const int64_t rows = static_cast<int64_t>(st.rows.size()) / k;
    const std::vector<float> a = absolute_maxima(st);
    const std::vector<float> w = weight_absmax(in, k);
    const std::vector<const Linear*> readers(in.readers.begin(), in.readers.end());
    const ReaderReference reference = reader_reference(st.rows.data(), rows, readers);
    // Candidate 0 leaves the activation alone; candidate g > 0 is α = g / grid.
    const auto scales_of = [&](int64_t g) {
      return g == 0 ? std::vector<float>(static_cast<size_t>(k), 1.0f)
                    : smoothing_scales(a, w, static_cast<double>(g) / options.grid);
    };
    // One task a candidate (their GEMMs run on the task's thread), the choice made afterwards in
    // order: no dependence on threads.
    std::vector<double> errors(static_cast<size_t>(options.grid) + 1);
    parallel_for(
        options.grid + 1,
        [&](int64_t g) {
          const double e = int8_output_error(st.rows.data(), rows, reference, readers, st, scales_of(g), options);
          errors[static_cast<size_t>(g)] = reference.norm2 > 0 ? e / reference.norm2 : e;
        },
        1);
    const auto best = static_cast<int64_t>(std::min_element(errors.begin(), errors.end()) - errors.begin());
    SmoothedInput chosen = smooth(in, a, scales_of(best), static_cast<double>(best) / options.grid);
    chosen.smoothed = best > 0;
    chosen.output_error_unsmoothed = errors.front();
    chosen.output_error = errors[static_cast<size_t>(best)];
    result.inputs.push_back(std::move(chosen));
  }
  return result;
}

}  // namespace squish
