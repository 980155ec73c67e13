// Chart.js as compiled into squish at build time (CMake reads Debian's libjs-chart.js into a generated
// source), so every report page carries it inline. Not a loader: nothing is read at run time.
#pragma once

#include <string_view>

namespace squish {

// The minified library, safe to place inside <script>…</script> (no "</script" in it).
std::string_view embedded_chartjs();
// "3.9.1": written into the page so a reader knows what drew the charts.
std::string_view embedded_chartjs_version();

}  // namespace squish
