// SPDX-License-Identifier: LGPL-2.1-or-later
// Matching a kernel request to the task that made it.
#include "request_attribution.hpp"

#include "error.hpp"
#include "request_trace.hpp"

#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_map>

namespace kmodtools {
namespace {

// Reading /proc for every task of a trace that lost events could take long; past this many, the
// match is ambiguous rather than slow.
constexpr std::size_t max_probes = 64;
// How many times a match is made again when its task's latest event changed meanwhile.
constexpr int max_reads = 3;
constexpr std::size_t described_candidates = 3;

// The calling process's start (the kernel's exec of the helper); now if /proc cannot say, which
// only makes the window checked for completeness later, never shorter.
std::uint64_t helper_start_ns(const Paths& paths)
{
    if (const auto start = task_start_ns(paths, ::getpid()))
        return *start;
    timespec now{};
    ::clock_gettime(CLOCK_BOOTTIME, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000000 + static_cast<std::uint64_t>(now.tv_nsec);
}

Attribution unknown(AttributionReason reason, std::string detail)
{
    Attribution result;
    result.kind = AttributionKind::unknown;
    result.reason = reason;
    result.detail = std::move(detail);
    result.requester_class = RequesterClass::unknown;
    return result;
}

// Whether `event_ns` (for `name`) is still the latest event of `pid`, and no event of it newer than
// that can be missing.
bool still_latest(const ModuleRequestTrace& trace, pid_t pid, std::uint64_t event_ns, std::string_view name)
{
    if (event_ns < trace.complete_since_ns())
        return false;
    const ModuleRequestEvent* latest = nullptr;
    for (const auto& event : trace.events)
        if (event.pid == pid && (!latest || event.timestamp_ns >= latest->timestamp_ns))
            latest = &event;
    return latest && latest->timestamp_ns == event_ns && latest->name_certain && latest->name == name;
}

} // namespace

std::string_view to_string(AttributionReason reason)
{
    switch (reason) {
    case AttributionReason::certain:
        return "certain";
    case AttributionReason::tracing_not_set_up:
        return "tracing not set up";
    case AttributionReason::no_matching_event:
        return "no matching event";
    case AttributionReason::several_waiting:
        return "several tasks wait for it";
    case AttributionReason::events_lost:
        return "events may be missing";
    case AttributionReason::uncertain_event:
        return "an event may not be whole or current";
    case AttributionReason::journal_busy:
        return "the event journal stayed busy";
    case AttributionReason::trace_changing:
        break;
    }
    return "requests kept arriving";
}

std::string Attribution::describe() const
{
    if (kind == AttributionKind::attributed && candidates.size() == 1)
        return kmodtools::describe(candidates.front());
    const std::string because(to_string(reason));
    if (kind != AttributionKind::ambiguous)
        return "an unknown requester (" + because + (detail.empty() ? "" : ": " + detail) + ")";
    std::string text = "an ambiguous requester (" + because + ": ";
    for (std::size_t i = 0; i < candidates.size() && i < described_candidates; ++i)
        text += (i == 0 ? "" : " or ") + kmodtools::describe(candidates[i]);
    if (candidates.size() > described_candidates)
        text += " or " + std::to_string(candidates.size() - described_candidates) + " more";
    if (!detail.empty())
        text += "; " + detail;
    return text + "; judged as " + std::string(to_string(requester_class)) + ")";
}

Attribution match_request(const ModuleRequestTrace& trace, std::string_view name, std::uint64_t helper_start_ns,
                          const TaskProbe& probe)
{
    const std::uint64_t since = trace.complete_since_ns();
    const std::uint64_t recent = helper_start_ns > attribution_slack_ns ? helper_start_ns - attribution_slack_ns : 0;
    const bool recent_complete = helper_start_ns > attribution_slack_ns && since <= recent;

    // Each task's latest event. Nothing real precedes the recording marker (a line there could only
    // come from a marker write while set-up had markers on).
    std::unordered_map<pid_t, const ModuleRequestEvent*> latest;
    bool recent_nowait = false;
    bool asked = false;
    for (const auto& event : trace.events) {
        if (event.pid <= 0 || (trace.recording_since_ns && event.timestamp_ns < *trace.recording_since_ns))
            continue;
        const auto [it, inserted] = latest.try_emplace(event.pid, &event);
        if (!inserted && event.timestamp_ns >= it->second->timestamp_ns)
            it->second = &event;
        if (event.name_certain && event.name == name) {
            asked = true;
            // request_module_nowait(): its task does not wait, so it cannot be found, but the
            // helper being matched may be its.
            if (!event.wait && event.timestamp_ns >= recent)
                recent_nowait = true;
        }
    }

    std::vector<RequesterInfo> certain;
    std::vector<RequesterInfo> possible;
    std::uint64_t certain_event_ns = 0;
    std::size_t probes = 0;
    bool too_many = false;
    for (const auto& [pid, event] : latest) {
        const bool exact = event->name_certain && event->name == name && event->wait;
        // Newer events of this task may have been lost: it may be waiting for anything.
        const bool maybe_stale = event->timestamp_ns < since;
        if (!exact && event->name_certain && !maybe_stale)
            continue;
        if (++probes > max_probes) {
            too_many = true;
            break;
        }
        auto info = probe(pid);
        if (!info || info->waiting_for_module == RequesterInfo::Waiting::no)
            continue;
        if (info->start_ns > event->timestamp_ns) // the pid was reused since that event
            continue;
        if (exact && !maybe_stale && info->waiting_for_module == RequesterInfo::Waiting::yes) {
            certain.push_back(std::move(*info));
            certain_event_ns = event->timestamp_ns;
        } else
            possible.push_back(std::move(*info));
    }

    if (certain.empty() && possible.empty() && !too_many) {
        std::string detail;
        if (recent_nowait)
            detail = "the request does not wait (request_module_nowait)";
        else if (asked)
            detail = "no task that asked for it waits for it now";
        else if (!recent_complete)
            detail = "events were lost";
        return unknown(AttributionReason::no_matching_event, detail);
    }

    Attribution result;
    const bool hidden_requester = !recent_complete || recent_nowait || too_many;
    if (certain.size() == 1 && possible.empty() && !hidden_requester) {
        result.kind = AttributionKind::attributed;
        result.reason = AttributionReason::certain;
        result.requester_class = classify(certain.front());
        result.candidates = std::move(certain);
        result.event_ns = certain_event_ns;
        return result;
    }
    result.kind = AttributionKind::ambiguous;
    if (certain.size() > 1) {
        result.reason = AttributionReason::several_waiting;
        result.detail = std::to_string(certain.size()) + " tasks wait for this name";
    } else if (hidden_requester) {
        result.reason = AttributionReason::events_lost;
        if (recent_nowait)
            result.detail = "a task that does not wait asked for it too";
        else if (too_many)
            result.detail = "too many tasks to check";
    } else {
        result.reason = AttributionReason::uncertain_event;
    }
    result.candidates = std::move(certain);
    result.candidates.insert(result.candidates.end(), std::make_move_iterator(possible.begin()),
                             std::make_move_iterator(possible.end()));
    // The requester is one of the candidates only if its own event cannot be missing.
    result.requester_class = hidden_requester ? RequesterClass::unknown : RequesterClass::privileged;
    for (const auto& candidate : result.candidates)
        result.requester_class = stricter(result.requester_class, classify(candidate));
    return result;
}

Attribution attribute_request(const Paths& paths, std::string_view name)
{
    // A task whose /proc cannot be parsed stays a candidate, of unknown class: dropping it could make
    // another candidate look certain.
    const TaskProbe probe = [&paths](pid_t pid) -> std::optional<RequesterInfo> {
        try {
            return read_requester_info(paths, pid);
        } catch (const Error&) {
            RequesterInfo unreadable;
            unreadable.pid = pid;
            unreadable.comm = "?";
            return unreadable;
        }
    };
    try {
        const auto started = helper_start_ns(paths);
        auto snapshot = read_request_trace(paths);
        for (int read = 1;; ++read) {
            if (snapshot.status.state != TraceState::ready)
                return unknown(AttributionReason::tracing_not_set_up, snapshot.status.problem);
            auto result = match_request(snapshot.trace, name, started, probe);
            // Only a certain match can be wrong by a race: an ambiguous one is judged by the stricter
            // class already, an unknown one by the strictest.
            if (result.kind != AttributionKind::attributed)
                return result;
            // The candidate was seen waiting after the snapshot; if its latest event there was an old
            // one, it had started a new request meanwhile, whose event is in a snapshot taken now.
            if (request_trace_generation(paths) == snapshot.generation)
                return result;
            const auto again = read_request_trace(paths);
            if (again.status.state == TraceState::ready &&
                still_latest(again.trace, result.candidates.front().pid, result.event_ns, name))
                return result;
            if (read == max_reads) {
                result.kind = AttributionKind::ambiguous;
                result.reason = AttributionReason::trace_changing;
                result.requester_class = RequesterClass::unknown;
                return result;
            }
            snapshot = again;
        }
    } catch (const Error& error) {
        // Judged by the strictest class either way; the reason tells a flood from a broken set-up.
        if (error.errnum() == EWOULDBLOCK)
            return unknown(AttributionReason::journal_busy, error.what());
        return unknown(AttributionReason::tracing_not_set_up, error.what());
    }
}

} // namespace kmodtools
