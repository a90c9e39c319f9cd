// SPDX-License-Identifier: LGPL-2.1-or-later
// Which module drives each network interface.
#include "net_devices.hpp"

#include "request_name.hpp"
#include "unique_fd.hpp"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>
#include <filesystem>

namespace kmodtools {

std::map<std::string, std::vector<std::string>> network_interfaces_by_driver(const Paths& paths)
{
    std::map<std::string, std::vector<std::string>> by_driver;
    std::error_code error;
    std::filesystem::directory_iterator it(paths.under_root("/sys/class/net"), error);
    if (error)
        return by_driver;
    // Any socket reaches the device ioctls; AF_UNIX is always there and loads nothing.
    UniqueFd socket_fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!socket_fd)
        return by_driver;
    for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
        if (error)
            break;
        const std::string name = it->path().filename().string();
        if (name.size() >= IFNAMSIZ)
            continue;
        ethtool_drvinfo info{};
        info.cmd = ETHTOOL_GDRVINFO;
        ifreq request{};
        std::memcpy(request.ifr_name, name.c_str(), name.size() + 1);
        request.ifr_data = reinterpret_cast<char*>(&info);
        if (::ioctl(socket_fd.get(), SIOCETHTOOL, &request) < 0)
            continue; // no ethtool support (loopback), or gone
        info.driver[sizeof info.driver - 1] = '\0';
        if (info.driver[0] != '\0')
            by_driver[normalize_module_name(info.driver)].push_back(name);
    }
    return by_driver;
}

} // namespace kmodtools
