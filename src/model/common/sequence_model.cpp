#include "model/common/sequence_model.h"

namespace squish {

int64_t SequenceModel::parameter_count() const {
  int64_t n = 0;
  for (const auto& [group, count] : parameter_groups()) n += count;
  return n;
}

}  // namespace squish
