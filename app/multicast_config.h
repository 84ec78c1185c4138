// The [multicast] section of the hub and spoke configs: link-local multicast
// replication for IGPs over the overlay (dataplane/multicast.h).
#pragma once

#include "app/toml_reader.h"
#include "dataplane/multicast.h"

namespace advpnd::app {

enum class MulticastRole : bool { Spoke, Hub };

// enabled, rate_per_second, burst (the total bound) and, on a hub only,
// per_spoke_rate_per_second and per_spoke_burst (the bound of each spoke).
void read_multicast(TomlReader& in, MulticastRole role, dataplane::MulticastConfig& config);

}  // namespace advpnd::app
