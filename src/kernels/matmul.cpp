#include "kernels/matmul.h"

#include <string>

#include <dnnl.h>

#include "core/error.h"
#include "kernels/dnnl_context.h"

namespace squish {

void matmul_strided(float* c, int64_t ldc, const float* a, int64_t lda, const float* b, int64_t ldb, int64_t m,
                    int64_t n, int64_t k, Transpose ta, Transpose tb, Accumulate acc) {
  // oneDNN fixes its ISA on first use; making the engine first applies SQUISH_ISA's cap to sgemm too.
  static const bool isa_capped = (cpu_engine(), true);
  (void)isa_capped;
  const char transa = ta == Transpose::kYes ? 'T' : 'N';
  const char transb = tb == Transpose::kYes ? 'T' : 'N';
  const float beta = acc == Accumulate::kYes ? 1.0f : 0.0f;
  const dnnl_status_t status = dnnl_sgemm(transa, transb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  if (status != dnnl_success)
    throw Error(ExitCode::kInternal, "matmul: dnnl_sgemm(" + std::string(1, transa) + std::string(1, transb) +
                                         ", M=" + std::to_string(m) + ", N=" + std::to_string(n) +
                                         ", K=" + std::to_string(k) + ", lda=" + std::to_string(lda) +
                                         ", ldb=" + std::to_string(ldb) + ", ldc=" + std::to_string(ldc) +
                                         ") expected dnnl_success, found status " + std::to_string(status));
}

void matmul(float* c, const float* a, const float* b, int64_t m, int64_t n, int64_t k, Transpose ta, Transpose tb,
            Accumulate acc) {
  const int64_t lda = ta == Transpose::kYes ? m : k;
  const int64_t ldb = tb == Transpose::kYes ? k : n;
  matmul_strided(c, n, a, lda, b, ldb, m, n, k, ta, tb, acc);
}

}  // namespace squish
