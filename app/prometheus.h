// The Prometheus text exposition format (version 0.0.4), written by hand:
// one family at a time, each with its # HELP and # TYPE line once, then its
// samples. Label values are escaped (backslash, double quote, newline);
// histograms get cumulative _bucket{le=...} samples ending in le="+Inf",
// then _sum and _count.
// https://prometheus.io/docs/instrumenting/exposition_formats/
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/duration_histogram.h"

namespace advpnd::app {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

class PrometheusWriter {
 public:
  // Starts a family: `type` is "counter" or "gauge" (histogram() starts its own).
  PrometheusWriter& family(std::string_view name, std::string_view type, std::string_view help);
  // A sample of the current family (its name, or name + suffix).
  PrometheusWriter& sample(std::uint64_t value, const Labels& labels = {});
  PrometheusWriter& sample(double value, const Labels& labels = {});
  // A whole histogram family with one series (seconds).
  PrometheusWriter& histogram(std::string_view name, std::string_view help, const DurationHistogram& h);

  [[nodiscard]] std::string take() { return std::move(out_); }

  // \ " and newline escaped, as the format asks for label values.
  [[nodiscard]] static std::string escape_label(std::string_view value);

 private:
  void write_sample(std::string_view name, const Labels& labels, const std::string& value);

  std::string out_;
  std::string family_;
};

}  // namespace advpnd::app
