// The DMVPN phase 3 exchange shipped as deploy/samples/dmvpn-phase3.pcap,
// built with advpnd's own builders (Cisco dialect) so that the sample always
// shows what advpnd sends.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "capture/capture.h"

namespace advpnd::tools {

// Every frame of the exchange, in order:
//   1-4   spoke1 and spoke2 register with the hub (request, reply)
//   5     the hub sees 192.168.1.10 -> 192.168.2.20 hair-pin and sends
//         spoke1 a Traffic Indication
//   6-8   spoke1 resolves 192.168.2.20: Resolution Request to the hub, the
//         hub forwards it to spoke2 (hop count - 1, Forward Transit record),
//         spoke2 answers spoke1 directly with 192.168.2.0/24
//   9-10  spoke2 purges that binding at spoke1 (its LAN went away), spoke1 replies
//   11-12 spoke1 asks for 192.168.99.1, which nobody registered; the hub
//         answers with an Error Indication (Protocol Address Unreachable)
[[nodiscard]] Result<std::vector<capture::OutgoingNhrp>, std::string> build_sample_exchange();

}  // namespace advpnd::tools
