// SPDX-License-Identifier: LGPL-2.1-or-later
// Every path kmod-tools touches, built from one root so tests can point the tools at a fake tree.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace kmodtools {

// The variable that redirects every path below another root. For testing only: the tools never
// need it on a real system.
inline constexpr const char* root_environment_variable = "KMOD_TOOLS_ROOT";

class Paths {
public:
    // Root "/" unless $KMOD_TOOLS_ROOT names another directory.
    static Paths from_environment();
    explicit Paths(std::filesystem::path root);

    const std::filesystem::path& root() const { return root_; }
    bool redirected() const { return root_ != "/"; }

    // An absolute path of the running system, seen under the root.
    std::filesystem::path under_root(const std::filesystem::path& absolute) const;
    // The inverse: what a path under the root is on the system seen (for judging and messages).
    std::filesystem::path on_system(const std::filesystem::path& under) const;

    // Kernel interfaces.
    std::filesystem::path proc_modules() const { return under_root("/proc/modules"); }
    std::filesystem::path sys_module() const { return under_root("/sys/module"); }
    std::filesystem::path sysctl_modprobe() const { return under_root("/proc/sys/kernel/modprobe"); }
    std::filesystem::path sysctl_modules_disabled() const
    {
        return under_root("/proc/sys/kernel/modules_disabled");
    }
    std::filesystem::path sysctl_osrelease() const { return under_root("/proc/sys/kernel/osrelease"); }
    std::filesystem::path dev_kmsg() const { return under_root("/dev/kmsg"); }
    std::filesystem::path dev_log() const { return under_root("/dev/log"); } // the syslog socket
    std::filesystem::path proc_dir() const { return under_root("/proc"); }
    // tracefs where it is mounted today, and where older setups reach it (automounted in debugfs).
    std::filesystem::path tracefs_dir() const { return under_root("/sys/kernel/tracing"); }
    std::filesystem::path debugfs_tracing_dir() const { return under_root("/sys/kernel/debug/tracing"); }

    // The running kernel's release (uname -r), read from the root's /proc so tests can fake it.
    std::string kernel_release() const;
    // /lib/modules/RELEASE
    std::filesystem::path modules_dir(std::string_view release) const;

    // Configuration: the admin's file, then drop-ins in lexical order, then the runtime layer
    // written by kmod-sysctl (lost at reboot like any sysctl set without --persist).
    std::filesystem::path config_file() const { return under_root("/etc/kmod-tools/kmod-tools.conf"); }
    std::filesystem::path config_dropin_dir() const { return under_root("/etc/kmod-tools/kmod-tools.conf.d"); }
    std::filesystem::path persisted_config_file() const
    {
        return config_dropin_dir() / "90-kmod-sysctl.conf";
    }
    std::filesystem::path runtime_config_file() const { return runtime_dir() / "runtime.conf"; }
    // kernel.modprobe made to survive reboot; systemd-sysctl / procps read it at boot.
    std::filesystem::path sysctl_dropin() const { return under_root("/etc/sysctl.d/50-kmod-tools.conf"); }

    // State: /run for what dies with the running kernel, /var/lib for what must survive reboot.
    std::filesystem::path runtime_dir() const { return under_root("/run/kmod-tools"); }
    std::filesystem::path state_dir() const { return under_root("/var/lib/kmod-tools"); }

private:
    std::filesystem::path root_;
};

} // namespace kmodtools
