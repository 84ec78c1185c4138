// SaWatcher: the hub's view of its own charon (issue #12 part 2). It keeps,
// for every established IKE_SA, the peer's IKE identity (remote-id), its
// IKE address and port (NAT-mapped when nat-remote) and the host traffic
// selectors its CHILD_SAs carry GRE from, in an IpsecPeerTable
// (base/ipsec_peers.h) that the Next Hop Server asks for every NHRP packet.
//
// How it follows charon (vici README, "Events"):
//   connect          -> list-sas (a full resync: the table is replaced;
//                       blocking, not noblock: a skipped busy IKE_SA
//                       would vanish from the table)
//   ike-updown up    -> that IKE_SA added (state ESTABLISHED)
//   ike-updown down  -> removed
//   child-updown up  -> its host selectors added to the IKE_SA's
//   child-updown down, ike-rekey, child-rekey -> resync (a rekeyed IKE_SA
//                       gets a new unique id without an updown event)
//   disconnect       -> table cleared: with charon gone no SA carries
//                       anything, and NHRP is refused until it is back
// An event that arrives while a resync runs marks the table dirty; another
// resync follows, so no event is lost between the snapshot and its answer.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/ipsec_peers.h"
#include "platform/event_loop.h"
#include "vici/client.h"
#include "vici/sa_list.h"

namespace advpnd::vici {

// An IKE_SA as the table keeps it; nullopt unless ESTABLISHED.
[[nodiscard]] std::optional<IpsecPeer> to_peer(const IkeSa& sa);

class SaWatcher {
 public:
  SaWatcher(platform::EventLoop& loop, ClientOptions options);
  SaWatcher(const SaWatcher&) = delete;
  SaWatcher& operator=(const SaWatcher&) = delete;

  void start();
  [[nodiscard]] const IpsecPeers& peers() const { return table_; }
  [[nodiscard]] bool connected() const { return client_.connected(); }
  [[nodiscard]] std::uint64_t resyncs() const { return resyncs_; }

 private:
  void on_state(bool connected, const std::string& reason);
  void on_ike_updown(const Message& event);
  void on_child_updown(const Message& event);
  void resync();

  Client client_;
  IpsecPeerTable table_;
  Subscription ike_updown_;
  Subscription child_updown_;
  Subscription ike_rekey_;
  Subscription child_rekey_;
  bool resyncing_ = false;
  bool dirty_ = false;
  std::uint64_t resyncs_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace advpnd::vici
