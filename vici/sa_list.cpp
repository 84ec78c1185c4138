#include "vici/sa_list.h"

namespace advpnd::vici {

bool IkeSa::has_installed_child(std::string_view child_name) const {
  for (const auto& child : children) {
    if (child.name == child_name && child.installed()) return true;
  }
  return false;
}

namespace {

ChildSa parse_child(const std::string& key, const Section& section) {
  ChildSa child;
  child.name = section.value_or("name", key);
  child.unique_id = section.find_number("uniqueid").value_or(0);
  child.state = section.value_or("state");
  child.mode = section.value_or("mode");
  child.bytes_in = section.find_number("bytes-in").value_or(0);
  child.bytes_out = section.find_number("bytes-out").value_or(0);
  child.packets_in = section.find_number("packets-in").value_or(0);
  child.packets_out = section.find_number("packets-out").value_or(0);
  child.use_in = section.find_number("use-in");
  child.use_out = section.find_number("use-out");
  child.install_time = section.find_number("install-time");
  if (const auto* ts = section.find_list("remote-ts")) child.remote_ts = *ts;
  return child;
}

}  // namespace

std::vector<IkeSa> parse_ike_sas(const Message& event) {
  std::vector<IkeSa> sas;
  for (const auto& entry : event.entries()) {
    if (entry.kind != EntryKind::Section) continue;
    const Section& section = entry.section;
    IkeSa sa;
    sa.name = entry.name;
    sa.unique_id = section.find_number("uniqueid").value_or(0);
    sa.state = section.value_or("state");
    sa.local_host = section.value_or("local-host");
    sa.remote_host = section.value_or("remote-host");
    sa.remote_port = static_cast<std::uint16_t>(section.find_number("remote-port").value_or(0));
    sa.remote_id = section.value_or("remote-id");
    sa.nat_remote = section.value_or("nat-remote") == "yes";
    sa.initiator = section.value_or("initiator") == "yes";
    if (const Section* children = section.find_section("child-sas")) {
      for (const auto& child : children->entries()) {
        if (child.kind == EntryKind::Section) sa.children.push_back(parse_child(child.name, child.section));
      }
    }
    sas.push_back(std::move(sa));
  }
  return sas;
}

}  // namespace advpnd::vici

namespace advpnd::vici {

bool ChildSa::remote_ts_is_host(std::string_view address) const {
  for (const auto& ts : remote_ts) {
    const auto slash = ts.find('/');
    if (slash == std::string::npos || ts.compare(0, slash, address) != 0) continue;
    const std::string_view length = std::string_view(ts).substr(slash + 1, ts.find('[') - slash - 1);
    if (length == "32" || length == "128") return true;
  }
  return false;
}

std::vector<std::string> ChildSa::remote_ts_hosts() const {
  std::vector<std::string> out;
  for (const auto& ts : remote_ts) {
    const auto slash = ts.find('/');
    if (slash == std::string::npos) continue;
    const std::string_view length = std::string_view(ts).substr(slash + 1, ts.find('[') - slash - 1);
    if (length == "32" || length == "128") out.push_back(ts.substr(0, slash));
  }
  return out;
}

}  // namespace advpnd::vici
