// FrameSender: sends the GRE frames of one burst through an NbmaTransport.
// On the raw GRE socket a burst leaves in one sendmmsg per 64 frames
// (RawGreTransport::send_batch, without copying payloads); on any other
// transport (the in-memory fabric of the tests) each frame goes through
// send(). Which one is decided once, at construction.
#pragma once

#include <cstddef>
#include <span>

#include "base/nbma_transport.h"
#include "platform/raw_gre_transport.h"

namespace advpnd::dataplane {

class FrameSender {
 public:
  explicit FrameSender(NbmaTransport& transport)
      : transport_(transport), raw_(dynamic_cast<platform::RawGreTransport*>(&transport)) {}

  // Returns the frames the transport accepted.
  std::size_t send(std::span<const platform::OutgoingFrame> frames) {
    if (raw_ != nullptr) return raw_->send_batch(frames);
    std::size_t sent = 0;
    for (const platform::OutgoingFrame& frame : frames) {
      if (transport_.send(frame.destination, frame.gre_protocol, frame.payload, frame.tos)) ++sent;
    }
    return sent;
  }

  [[nodiscard]] NbmaTransport& transport() { return transport_; }

 private:
  NbmaTransport& transport_;
  platform::RawGreTransport* raw_;
};

}  // namespace advpnd::dataplane
