#include "app/prometheus.h"

#include <cmath>
#include <cstdio>

namespace advpnd::app {
namespace {

// Shortest text that reads back as the same double; integers without ".0".
std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

}  // namespace

std::string PrometheusWriter::escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

PrometheusWriter& PrometheusWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  family_ = std::string(name);
  // HELP text escapes only backslash and newline.
  std::string escaped;
  for (const char c : help) escaped += c == '\\' ? "\\\\" : c == '\n' ? "\\n" : std::string(1, c);
  out_ += "# HELP " + family_ + " " + escaped + "\n# TYPE " + family_ + " " + std::string(type) + "\n";
  return *this;
}

void PrometheusWriter::write_sample(std::string_view name, const Labels& labels, const std::string& value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i != 0) out_ += ',';
      out_ += std::string(labels[i].first) + "=\"" + escape_label(labels[i].second) + "\"";
    }
    out_ += '}';
  }
  out_ += " " + value + "\n";
}

PrometheusWriter& PrometheusWriter::sample(std::uint64_t value, const Labels& labels) {
  write_sample(family_, labels, std::to_string(value));
  return *this;
}

PrometheusWriter& PrometheusWriter::sample(double value, const Labels& labels) {
  write_sample(family_, labels, number(value));
  return *this;
}

PrometheusWriter& PrometheusWriter::histogram(std::string_view name, std::string_view help,
                                              const DurationHistogram& h) {
  family(name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < DurationHistogram::kBounds.size(); ++i) {
    cumulative += h.bucket(i);
    write_sample(family_ + "_bucket", {{"le", number(DurationHistogram::kBounds[i])}}, std::to_string(cumulative));
  }
  write_sample(family_ + "_bucket", {{"le", "+Inf"}}, std::to_string(h.count()));
  write_sample(family_ + "_sum", {}, number(h.sum_seconds()));
  write_sample(family_ + "_count", {}, std::to_string(h.count()));
  return *this;
}

}  // namespace advpnd::app
