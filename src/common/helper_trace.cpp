// SPDX-License-Identifier: LGPL-2.1-or-later
// The trace instance for the kernel's helper.
#include "helper_trace.hpp"

#include "error.hpp"
#include "log.hpp"
#include "request_trace.hpp"
#include "trusted_path.hpp"

#include <string>

namespace kmodtools {

bool helper_is_kmod_request(const Paths& paths, std::string_view helper)
{
    if (helper.empty() || helper.front() != '/')
        return false;
    const auto judged = judge_path(paths, helper, TrustedKind::executable);
    return judged.trusted() && judged.resolved.filename() == "kmod-request";
}

TracePreparation prepare_request_trace_for(const Paths& paths, std::string_view helper)
{
    if (!helper_is_kmod_request(paths, helper))
        return TracePreparation::not_needed;
    try {
        const auto before = check_request_trace(paths);
        if (before.state == TraceState::no_tracefs) {
            log::warning("requester attribution not set up: " + before.problem);
            return TracePreparation::failed;
        }
        if (before.state == TraceState::ready)
            return TracePreparation::kept;
        set_up_request_trace(paths);
        return before.state == TraceState::absent ? TracePreparation::created : TracePreparation::recreated;
    } catch (const Error& error) {
        log::warning(std::string("requester attribution not set up: ") + error.what());
        return TracePreparation::failed;
    }
}

} // namespace kmodtools
