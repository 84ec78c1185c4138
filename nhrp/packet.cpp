#include "nhrp/packet.h"

#include <algorithm>

namespace advpnd::nhrp {

const Extension* Packet::find_extension(ExtensionType wanted) const {
  const auto it = std::find_if(extensions.begin(), extensions.end(),
                               [wanted](const Extension& ext) { return ext.type() == wanted; });
  return it == extensions.end() ? nullptr : &*it;
}

Extension* Packet::find_extension(ExtensionType wanted) {
  const auto it = std::find_if(extensions.begin(), extensions.end(),
                               [wanted](const Extension& ext) { return ext.type() == wanted; });
  return it == extensions.end() ? nullptr : &*it;
}

// Equality of what is on the wire; received_checksum is left out because
// encode() recomputes it.
bool operator==(const Packet& a, const Packet& b) {
  return a.afn == b.afn && a.protocol_type == b.protocol_type && a.protocol_snap == b.protocol_snap &&
         a.hop_count == b.hop_count && a.version == b.version && a.type == b.type && a.flags == b.flags &&
         a.request_id == b.request_id && a.error_code == b.error_code && a.error_offset == b.error_offset &&
         a.traffic_code == b.traffic_code && a.traffic_unused == b.traffic_unused &&
         a.src_nbma == b.src_nbma && a.src_nbma_subaddress == b.src_nbma_subaddress &&
         a.src_protocol == b.src_protocol && a.dst_protocol == b.dst_protocol && a.cies == b.cies &&
         a.payload == b.payload && a.extensions == b.extensions && a.trailer == b.trailer;
}

}  // namespace advpnd::nhrp
