// SPDX-License-Identifier: LGPL-2.1-or-later
// Which module drives each network interface, so kmod-reap never unloads one that has interfaces.
//
// Unloading dummy, veth, bridge or tun deletes their interfaces with whatever was configured on them,
// yet such modules show refcount 0 while their interfaces exist. Virtual interfaces have no device to
// bind, so the bound-driver rule does not see them; the driver name ethtool reports does.
#pragma once

#include "paths.hpp"

#include <map>
#include <string>
#include <vector>

namespace kmodtools {

// Module name (normalized) -> interfaces in this network namespace whose driver it is. Interfaces
// in other namespaces (containers) are not visible from here.
std::map<std::string, std::vector<std::string>> network_interfaces_by_driver(const Paths& paths);

} // namespace kmodtools
