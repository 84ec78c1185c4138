// read_nhrp_capture: libpcap reads the file (pcap or pcapng, any byte order,
// micro- or nanosecond), dissect_frame() finds the NHRP in each frame.
#include <pcap/pcap.h>

#include <memory>
#include <string>

#include "capture/capture.h"
#include "capture/dissect.h"
#include "capture/path_error.h"

namespace advpnd::capture {

namespace {

struct PcapCloser {
  void operator()(pcap_t* handle) const { pcap_close(handle); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

std::string link_type_name(int link_type) {
  const char* name = pcap_datalink_val_to_name(link_type);
  return name != nullptr ? std::string(name) + " (" + std::to_string(link_type) + ")" : std::to_string(link_type);
}

}  // namespace

Result<std::vector<CapturedNhrp>, std::string> read_nhrp_capture(const std::string& path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapHandle handle(pcap_open_offline(path.c_str(), errbuf));
  if (!handle) {
    return fail(path_error(path, errbuf[0] != '\0' ? errbuf : "cannot open as pcap or pcapng"));
  }
  const int link_type = pcap_datalink(handle.get());
  if (!link_type_supported(link_type)) {
    return fail(path + ": link type " + link_type_name(link_type) +
                " is not supported (Ethernet, Linux cooked SLL/SLL2, raw IP, null/loopback are)");
  }

  std::vector<CapturedNhrp> packets;
  std::size_t frame = 0;
  for (;;) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle.get(), &header, &data);
    if (rc == PCAP_ERROR_BREAK) break;  // end of file
    if (rc != 1) {
      // A truncated or corrupt record: refuse the file rather than guess.
      return fail(path + ": cannot read frame " + std::to_string(frame + 1) + ": " + pcap_geterr(handle.get()));
    }
    ++frame;
    // libpcap guarantees caplen bytes at data; caplen never exceeds the snapshot length.
    const auto bytes = std::as_bytes(std::span<const u_char>(data, header->caplen));
    if (auto nhrp = dissect_frame(link_type, bytes)) {
      nhrp->frame = frame;
      packets.push_back(std::move(*nhrp));
    }
  }
  return packets;
}

}  // namespace advpnd::capture
