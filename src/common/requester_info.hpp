// SPDX-License-Identifier: LGPL-2.1-or-later
// The task that asked the kernel for a module: who it is, read from /proc while it waits, and its class.
#pragma once

#include "paths.hpp"
#include "requester_class.hpp"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kmodtools {

inline constexpr int cap_sys_module = 16; // include/uapi/linux/capability.h

struct RequesterInfo {
    pid_t pid = 0;
    // Raw bytes from /proc/PID/stat: anything a task set with prctl(PR_SET_NAME). Never log unescaped.
    std::string comm;
    uid_t uid = 0;
    uid_t euid = 0;
    std::uint64_t cap_effective = 0;
    // From /proc/PID/ns/user against /proc/1/ns/user; std::nullopt if either could not be read.
    std::optional<bool> initial_user_namespace;
    std::string user_namespace; // "user:[4026532119]", for the description
    std::string cgroup;         // the cgroup v2 path ("0::PATH"), empty if the kernel shows none
    bool kernel_thread = false;
    std::uint64_t start_ns = 0; // since boot (CLOCK_BOOTTIME, the trace clock "boot"), at 1/USER_HZ
    // Blocked in call_usermodehelper_exec() called from __request_module(): waiting for a module
    // helper. Unknown when neither /proc/PID/stack nor /proc/PID/wchan could be read.
    enum class Waiting { yes, no, unknown };
    Waiting waiting_for_module = Waiting::unknown;

    bool has_cap_sys_module() const { return (cap_effective >> cap_sys_module & 1) != 0; }
};

// Reads /proc/PID (a thread id works too). std::nullopt if the task is gone, or if it exited or its
// pid was reused while it was being read (its start time changed). Needs root for /proc/PID/stack;
// without it, /proc/PID/wchan alone tells whether the task waits.
std::optional<RequesterInfo> read_requester_info(const Paths& paths, pid_t pid);

// Only the start time of a task (since boot, as RequesterInfo::start_ns), from /proc/PID/stat.
std::optional<std::uint64_t> task_start_ns(const Paths& paths, pid_t pid);

RequesterClass classify(const RequesterInfo& info);

// "pid 812 ('sock-test', uid 1000, no CAP_SYS_MODULE, cgroup '/user.slice')": one line, every byte the
// task controls escaped (quote_name), so it cannot forge or split an audit line.
std::string describe(const RequesterInfo& info);

} // namespace kmodtools
