// SPDX-License-Identifier: LGPL-2.1-or-later
// The trace instance for the kernel's helper: whether a helper is kmod-request, which attributes
// each kernel request to the task that made it through kmod-tools' trace instance
// (request_trace.hpp), and setting the instance up for it before the kernel runs it.
//
// Attribution trusts only a trace that was recording attribution_slack_ns before a request
// (request_attribution.hpp), so the instance is set up before kernel.modprobe names kmod-request,
// never after. Switching to another helper leaves the instance alone: a wrapper that runs
// kmod-request may still rely on it, a kmod-request still serving a request made before the
// switch reads it, and it costs one small buffer (request_trace_buffer_kb per CPU) and one
// tracepoint per request; `kmod-sysctl --trace=remove` removes it.
#pragma once

#include "paths.hpp"

#include <string_view>

namespace kmodtools {

// Whether running `helper` (a path of the system under the root) runs kmod-request: the path, every
// symlink followed as the kernel follows them, is safe (helper_safety.hpp) and ends at a file named
// kmod-request. The name, not one installed path: /usr/local/sbin/kmod-request and /sbin/kmod-request
// (where /sbin links to /usr/sbin) are kmod-request too; a wrapper script of another name is not.
bool helper_is_kmod_request(const Paths& paths, std::string_view helper);

enum class TracePreparation {
    not_needed, // the helper is not kmod-request: the instance was left as it is
    kept,       // it was ready already, and kept, events and all
    created,    // it did not exist and was set up (what an undo removes again)
    recreated,  // it was not as attribution needs it and was set up anew
    failed,     // it could not be set up: a warning said why
};

// For a helper about to become the kernel's (kmod-sysctl modprobe=HELPER, and at boot
// kmod-sysctl --trace=auto): sets the instance up if `helper` is kmod-request. A failure (no
// tracefs, not root, a tracefs directory others can write) is one warning line,
// "requester attribution not set up: WHY", never an error: kmod-request serves requests without
// the instance, and says each came from an unknown requester (tracing not set up).
TracePreparation prepare_request_trace_for(const Paths& paths, std::string_view helper);

} // namespace kmodtools
