// make-sample-capture OUTPUT.pcap: writes the DMVPN phase 3 sample exchange
// (tools/sample_exchange.h) as a pcap file. The shipped copy is
// deploy/samples/dmvpn-phase3.pcap; a test regenerates it and compares the
// bytes, and `cmake --build --preset default --target update-sample-capture`
// rewrites it after a deliberate change.
#include <cstdio>
#include <string>

#include "capture/capture.h"
#include "tools/sample_exchange.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make-sample-capture OUTPUT.pcap\n");
    return 2;
  }
  auto frames = advpnd::tools::build_sample_exchange();
  if (!frames) {
    std::fprintf(stderr, "make-sample-capture: %s\n", frames.error().c_str());
    return 1;
  }
  const std::string path = argv[1];
  if (auto written = advpnd::capture::write_nhrp_pcap(path, *frames); !written) {
    std::fprintf(stderr, "make-sample-capture: %s\n", written.error().c_str());
    return 1;
  }
  return 0;
}
