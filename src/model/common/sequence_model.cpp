#include "model/common/sequence_model.h"

namespace squish {

int64_t SequenceModel::parameter_count() const { return total_parameters(parameter_groups()); }

}  // namespace squish
