#include "app/debug_control.h"

#include <algorithm>

#include "app/json.h"
#include "base/log.h"

namespace advpnd::app {
namespace {
constexpr std::string_view kLog = "control";

bool at_debug(std::string_view category) { return log::enabled(log::Level::Debug, category); }

ControlReply show_categories(bool json) {
  if (json) {
    JsonWriter w;
    w.begin_object().field("log_level", log::to_string(log::level())).key("categories").begin_object();
    for (std::string_view category : kLogCategories) w.field(category, at_debug(category));
    w.end_object().end_object();
    return {true, w.take() + "\n"};
  }
  std::string out = "log level " + std::string(log::to_string(log::level())) + "; debug on:";
  std::string off;
  for (std::string_view category : kLogCategories) {
    (at_debug(category) ? out : off) += " " + std::string(category);
  }
  return {true, out + "\ndebug off:" + off + "\n"};
}

// on: the category at debug. off: back to the configured level, but never
// debug (off must quiet a category even when log_level = "debug").
void switch_category(std::string_view category, bool on) {
  if (on) {
    log::set_component_level(category, log::Level::Debug);
  } else if (log::level() == log::Level::Debug) {
    log::set_component_level(category, log::Level::Info);
  } else {
    log::clear_component_level(category);
  }
}

std::string known_categories() {
  std::string text;
  for (std::string_view category : kLogCategories) text += std::string(category) + ", ";
  return text + "all";
}

}  // namespace

ControlReply debug_control(const std::vector<std::string>& args, bool json) {
  if (args.empty()) return show_categories(json);
  if (args.size() != 2 || (args[1] != "on" && args[1] != "off")) {
    return {false, "usage: debug [CATEGORY on|off]; categories: " + known_categories() + "\n"};
  }
  const std::string& category = args[0];
  const bool on = args[1] == "on";
  if (category == "all") {
    log::clear_component_levels();
    for (std::string_view c : kLogCategories) switch_category(c, on);
  } else if (std::find(std::begin(kLogCategories), std::end(kLogCategories), category) != std::end(kLogCategories)) {
    switch_category(category, on);
  } else {
    return {false, "unknown debug category \"" + category + "\"; known: " + known_categories() + "\n"};
  }
  log::info(kLog, "debug " + category + " " + args[1]);
  return show_categories(json);
}

}  // namespace advpnd::app
