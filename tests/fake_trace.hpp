// SPDX-License-Identifier: LGPL-2.1-or-later
// A fake kmod-tools trace instance, as set_up_request_trace leaves it on Debian 12's kernel, for tests.
#pragma once

#include "fake_root.hpp"
#include "request_trace.hpp"

#include <string>

namespace kmodtools::testing {

// What trace_pipe gives right after set-up and one request.
inline const std::string ready_trace_pipe_text =
    "     kmod-sysctl-90      [000] .....     5.100000: tracing_mark_write: kmod-tools: recording\n"
    "           mount-107     [000] .....     5.689224: module_request: fs-minix wait=1 call_site=get_fs_type\n";

// The instance under `base` (tracefs, or where debugfs reaches it), ready for attribution.
inline void make_ready_instance(const FakeRoot& root, const std::string& base = "/sys/kernel/tracing")
{
    const std::string dir = base + "/instances/kmod-tools";
    root.mkdir(base, 0700);
    root.mkdir(base + "/instances", 0750);
    root.mkdir(dir, 0750);
    root.write(dir + "/set_event", "module:module_request\n", 0640);
    root.write(dir + "/set_event_pid", "", 0640);
    root.write(dir + "/tracing_on", "1\n", 0640);
    root.write(dir + "/trace_clock", "local global counter uptime perf mono mono_raw [boot] tai x86-tsc\n", 0640);
    root.write(dir + "/buffer_size_kb", std::to_string(request_trace_buffer_kb) + "\n", 0640);
    // As Debian 12's kernel lists them for an instance set up by kmod-tools.
    root.write(dir + "/trace_options",
               "print-parent\nnosym-offset\nnosym-addr\nnoverbose\nnoraw\nnohex\nnobin\nnoblock\nnofields\n"
               "trace_printk\nannotate\nnouserstacktrace\nnosym-userobj\nnoprintk-msg-only\ncontext-info\n"
               "nolatency-format\nrecord-cmd\nnorecord-tgid\noverwrite\nnodisable_on_free\nirq-info\nnomarkers\n"
               "noevent-fork\nnopause-on-trace\nhash-ptr\nfunction-trace\nnofunction-fork\nnodisplay-graph\n"
               "nostacktrace\n",
               0640);
    root.write(dir + "/trace_pipe", ready_trace_pipe_text, 0640);
}

} // namespace kmodtools::testing
