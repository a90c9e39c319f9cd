// SPDX-License-Identifier: LGPL-2.1-or-later
// Telling a request from the kernel from one made by a person or program.
#include "requester.hpp"

#include "text_file.hpp"

#include <charconv>
#include <string>

namespace kmodtools {
namespace {
constexpr unsigned long pf_kthread = 0x00200000; // include/linux/sched.h
}

bool is_kernel_thread(const Paths& paths, pid_t pid)
{
    if (pid <= 0)
        return false;
    const auto stat = read_text_file_if_exists(paths.under_root("/proc/" + std::to_string(pid) + "/stat"));
    if (!stat)
        return false;
    // "PID (COMM) STATE PPID PGRP SESSION TTY TPGID FLAGS ...": COMM may hold spaces and parentheses,
    // so count fields from the last ')'.
    const auto close = stat->rfind(')');
    if (close == std::string::npos)
        return false;
    std::string_view rest(*stat);
    rest.remove_prefix(close + 1);
    for (int field = 0; field < 6; ++field) {
        const auto start = rest.find_first_not_of(' ');
        if (start == std::string_view::npos)
            return false;
        rest.remove_prefix(start);
        rest.remove_prefix(std::min(rest.find(' '), rest.size()));
    }
    const auto start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos)
        return false;
    rest.remove_prefix(start);
    unsigned long flags = 0;
    const auto result = std::from_chars(rest.data(), rest.data() + rest.size(), flags);
    return result.ec == std::errc() && (flags & pf_kthread) != 0;
}

} // namespace kmodtools
