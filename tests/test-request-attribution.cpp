// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of matching a kernel request to the task that made it: certain, ambiguous, unknown, never wrong.
#include "request_attribution.hpp"

#include "fake_root.hpp"
#include "fake_trace.hpp"
#include "request_event_journal.hpp"
#include "unique_fd.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>

#include <map>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

namespace {

constexpr std::uint64_t second = 1000000000;
constexpr std::uint64_t now = 100 * second;

ModuleRequestEvent event(pid_t pid, std::string name, std::uint64_t at, bool wait = true, unsigned cpu = 0)
{
    ModuleRequestEvent e;
    e.comm = "task";
    e.pid = pid;
    e.cpu = cpu;
    e.timestamp_ns = at;
    e.name = std::move(name);
    e.wait = wait;
    return e;
}

// A trace recorded since 1 s after boot, nothing lost.
ModuleRequestTrace trace_of(std::vector<ModuleRequestEvent> events)
{
    ModuleRequestTrace trace;
    trace.recording_since_ns = 1 * second;
    trace.entries_in_buffer = trace.entries_written = events.size() + 1;
    for (const auto& e : events) {
        auto& oldest = trace.cpu_oldest_ns.try_emplace(e.cpu, e.timestamp_ns).first->second;
        oldest = std::min(oldest, e.timestamp_ns);
    }
    trace.events = std::move(events);
    return trace;
}

RequesterInfo task(pid_t pid, uid_t uid, bool cap_sys_module, bool waiting = true, bool initial_ns = true)
{
    RequesterInfo info;
    info.pid = pid;
    info.comm = "task-" + std::to_string(pid);
    info.uid = info.euid = uid;
    info.cap_effective = cap_sys_module ? 0x1ffffffffffULL : 0;
    info.initial_user_namespace = initial_ns;
    info.start_ns = 2 * second;
    info.waiting_for_module = waiting ? RequesterInfo::Waiting::yes : RequesterInfo::Waiting::no;
    return info;
}

struct FakeTasks {
    std::map<pid_t, RequesterInfo> tasks;
    std::vector<pid_t> probed;
    TaskProbe probe()
    {
        return [this](pid_t pid) -> std::optional<RequesterInfo> {
            probed.push_back(pid);
            const auto it = tasks.find(pid);
            if (it == tasks.end())
                return std::nullopt;
            return it->second;
        };
    }
    void add(const RequesterInfo& info) { tasks[info.pid] = info; }
};

} // namespace

TEST_CASE("one waiting task asked for this name: attributed")
{
    FakeTasks tasks;
    tasks.add(task(812, 1000, false));
    tasks.add(task(900, 0, true));
    const auto trace = trace_of({event(900, "fs-xfs", 50 * second), event(812, "net-pf-33", 99 * second)});
    const auto result = match_request(trace, "net-pf-33", now, tasks.probe());
    CHECK(result.kind == AttributionKind::attributed);
    REQUIRE(result.candidates.size() == 1);
    CHECK(result.candidates[0].pid == 812);
    CHECK(result.requester_class == RequesterClass::unprivileged);
    CHECK(result.describe() == "pid 812 ('task-812', uid 1000, no CAP_SYS_MODULE)");
    // Only the task whose latest event is this name is read.
    CHECK(tasks.probed == std::vector<pid_t>{812});
}

TEST_CASE("30 tasks asking for 30 names at once: each name to its own task")
{
    FakeTasks tasks;
    std::vector<ModuleRequestEvent> events;
    for (pid_t pid = 200; pid < 230; ++pid) {
        tasks.add(task(pid, static_cast<uid_t>(1000 + pid), false));
        events.push_back(event(pid, "fs-" + std::to_string(pid), 99 * second + static_cast<std::uint64_t>(pid)));
    }
    const auto trace = trace_of(events);
    for (pid_t pid = 200; pid < 230; ++pid) {
        const auto result = match_request(trace, "fs-" + std::to_string(pid), now, tasks.probe());
        REQUIRE(result.kind == AttributionKind::attributed);
        CHECK(result.candidates[0].pid == pid);
    }
}

TEST_CASE("an old event of a task that no longer waits is not used")
{
    FakeTasks tasks;
    SUBCASE("the task is gone")
    {
        const auto result =
            match_request(trace_of({event(812, "net-pf-33", 90 * second)}), "net-pf-33", now, tasks.probe());
        CHECK(result.kind == AttributionKind::unknown);
        CHECK(result.reason == AttributionReason::no_matching_event);
        CHECK(result.describe() ==
              "an unknown requester (no matching event: no task that asked for it waits for it now)");
    }
    SUBCASE("the task runs, or waits for something else")
    {
        tasks.add(task(812, 1000, false, false));
        const auto result =
            match_request(trace_of({event(812, "net-pf-33", 90 * second)}), "net-pf-33", now, tasks.probe());
        CHECK(result.kind == AttributionKind::unknown);
    }
    SUBCASE("the task asked for another name since: it waits for that one")
    {
        tasks.add(task(812, 0, true));
        const auto result =
            match_request(trace_of({event(812, "net-pf-33", 80 * second), event(812, "fs-xfs", 90 * second)}),
                          "net-pf-33", now, tasks.probe());
        CHECK(result.kind == AttributionKind::unknown);
    }
    SUBCASE("the pid was reused by a task started after the event")
    {
        auto reused = task(812, 0, true);
        reused.start_ns = 95 * second;
        tasks.add(reused);
        const auto result =
            match_request(trace_of({event(812, "net-pf-33", 90 * second)}), "net-pf-33", now, tasks.probe());
        CHECK(result.kind == AttributionKind::unknown);
    }
    SUBCASE("a request that does not wait (request_module_nowait)")
    {
        tasks.add(task(812, 0, true));
        const auto result =
            match_request(trace_of({event(812, "net-pf-33", 99 * second, false)}), "net-pf-33", now, tasks.probe());
        CHECK(result.kind == AttributionKind::unknown);
        CHECK(result.detail == "the request does not wait (request_module_nowait)");
    }
    SUBCASE("no event for the name at all")
    {
        const auto result = match_request(trace_of({}), "net-pf-33", now, tasks.probe());
        CHECK(result.kind == AttributionKind::unknown);
        CHECK(result.describe() == "an unknown requester (no matching event)");
    }
}

TEST_CASE("two tasks waiting for the same name: ambiguous, judged by the stricter class")
{
    FakeTasks tasks;
    tasks.add(task(10, 0, true));
    tasks.add(task(11, 1000, false));
    const auto trace = trace_of({event(10, "fs-vfat", 98 * second), event(11, "fs-vfat", 99 * second)});
    const auto result = match_request(trace, "fs-vfat", now, tasks.probe());
    CHECK(result.kind == AttributionKind::ambiguous);
    CHECK(result.reason == AttributionReason::several_waiting);
    CHECK(result.candidates.size() == 2);
    CHECK(result.requester_class == RequesterClass::unprivileged);
    CHECK(result.describe().find("an ambiguous requester (several tasks wait for it: pid 1") == 0);
    CHECK(result.describe().find("judged as unprivileged)") != std::string::npos);
    SUBCASE("both privileged: still ambiguous, but the class is certain")
    {
        tasks.add(task(11, 0, true));
        const auto both = match_request(trace, "fs-vfat", now, tasks.probe());
        CHECK(both.kind == AttributionKind::ambiguous);
        CHECK(both.requester_class == RequesterClass::privileged);
    }
    SUBCASE("one in a container")
    {
        tasks.add(task(11, 0, true, true, false));
        CHECK(match_request(trace, "fs-vfat", now, tasks.probe()).requester_class == RequesterClass::container);
    }
}

TEST_CASE("lost events: the requester's own event may be missing, so never certain")
{
    FakeTasks tasks;
    tasks.add(task(10, 0, true));
    auto trace = trace_of({event(10, "fs-vfat", 99 * second, true, 0), event(20, "x", 99 * second + 1, true, 1)});
    SUBCASE("overwritten within the last seconds")
    {
        trace.entries_written = 500; // more than the buffer holds: CPU 1's oldest record is 99 s
        const auto result = match_request(trace, "fs-vfat", now, tasks.probe());
        CHECK(result.kind == AttributionKind::ambiguous);
        CHECK(result.reason == AttributionReason::events_lost);
        CHECK(result.requester_class == RequesterClass::unknown);
    }
    SUBCASE("overwritten long ago: what is left is complete for the last seconds")
    {
        trace.entries_written = 500;
        trace.events.insert(trace.events.begin(), event(30, "y", 10 * second, true, 1));
        trace.events.insert(trace.events.begin(), event(31, "z", 10 * second, true, 0));
        trace.cpu_oldest_ns[0] = trace.cpu_oldest_ns[1] = 10 * second;
        const auto result = match_request(trace, "fs-vfat", now, tasks.probe());
        CHECK(result.kind == AttributionKind::attributed);
        CHECK(result.candidates[0].pid == 10);
    }
    SUBCASE("a recording that began less than the slack ago")
    {
        trace.recording_since_ns = now - attribution_slack_ns / 2;
        for (auto& e : trace.events)
            e.timestamp_ns = now - 1000;
        const auto result = match_request(trace, "fs-vfat", now, tasks.probe());
        CHECK(result.kind == AttributionKind::ambiguous);
        CHECK(result.requester_class == RequesterClass::unknown);
    }
    SUBCASE("a task whose latest visible event is older than what was lost may wait for anything")
    {
        trace.entries_written = 500;
        trace.events.insert(trace.events.begin(), event(30, "y", 5 * second, true, 0));
        trace.cpu_oldest_ns[0] = 5 * second;
        trace.cpu_oldest_ns[1] = 20 * second; // CPU 1 lost everything before 20 s
        tasks.add(task(30, 1000, false));
        const auto result = match_request(trace, "fs-vfat", now, tasks.probe());
        CHECK(result.kind == AttributionKind::ambiguous);
        CHECK(result.reason == AttributionReason::uncertain_event);
        CHECK(result.candidates.size() == 2);
        CHECK(result.requester_class == RequesterClass::unprivileged);
    }
}

TEST_CASE("an event whose name cannot be trusted keeps its waiting task a candidate")
{
    FakeTasks tasks;
    tasks.add(task(10, 0, true));
    tasks.add(task(66, 1000, false));
    auto cut = event(66, "fs-a wait=1 call_site=x", 99 * second);
    cut.name_certain = false;
    const auto trace = trace_of({event(10, "fs-a", 98 * second), cut});
    const auto result = match_request(trace, "fs-a", now, tasks.probe());
    CHECK(result.kind == AttributionKind::ambiguous);
    CHECK(result.reason == AttributionReason::uncertain_event);
    CHECK(result.requester_class == RequesterClass::unprivileged);
    SUBCASE("even alone")
    {
        const auto alone = match_request(trace_of({cut}), "fs-a", now, tasks.probe());
        CHECK(alone.kind == AttributionKind::ambiguous);
        CHECK(alone.requester_class == RequesterClass::unprivileged);
    }
}

TEST_CASE("a task that may be waiting (its stack unreadable) is a candidate, never dropped")
{
    FakeTasks tasks;
    tasks.add(task(10, 0, true));
    auto unsure = task(11, 1000, false);
    unsure.waiting_for_module = RequesterInfo::Waiting::unknown;
    tasks.add(unsure);
    const auto trace = trace_of({event(10, "fs-a", 98 * second), event(11, "fs-a", 99 * second)});
    const auto result = match_request(trace, "fs-a", now, tasks.probe());
    CHECK(result.kind == AttributionKind::ambiguous);
    CHECK(result.requester_class == RequesterClass::unprivileged);
}

TEST_CASE("a request_module_nowait for the same name moments ago: the helper may be its")
{
    FakeTasks tasks;
    tasks.add(task(10, 0, true));
    const auto trace = trace_of({event(10, "fs-a", 98 * second), event(11, "fs-a", 99 * second, false)});
    const auto result = match_request(trace, "fs-a", now, tasks.probe());
    CHECK(result.kind == AttributionKind::ambiguous);
    CHECK(result.requester_class == RequesterClass::unknown);
    SUBCASE("long ago it does not matter")
    {
        const auto old = trace_of({event(11, "fs-a", 9 * second, false), event(10, "fs-a", 98 * second)});
        CHECK(match_request(old, "fs-a", now, tasks.probe()).kind == AttributionKind::attributed);
    }
}

TEST_CASE("events before the recording marker are not real requests")
{
    FakeTasks tasks;
    tasks.add(task(10, 0, true));
    auto trace = trace_of({event(10, "fs-a", 98 * second)});
    trace.recording_since_ns = 98 * second + 1;
    CHECK(match_request(trace, "fs-a", now, tasks.probe()).kind == AttributionKind::unknown);
}

TEST_CASE("attribute_request without a trace instance says why")
{
    FakeRoot root;
    SUBCASE("no tracefs")
    {
        const auto result = attribute_request(root.paths(), "net-pf-5");
        CHECK(result.kind == AttributionKind::unknown);
        CHECK(result.reason == AttributionReason::tracing_not_set_up);
        CHECK(result.requester_class == RequesterClass::unknown);
        CHECK(result.describe() == "an unknown requester (tracing not set up: tracefs is not mounted on " +
                                       (root / "/sys/kernel/tracing").string() + " (nor reachable as " +
                                       (root / "/sys/kernel/debug/tracing").string() + "))");
    }
    SUBCASE("no instance")
    {
        root.mkdir("/sys/kernel/tracing/instances", 0750);
        const auto result = attribute_request(root.paths(), "net-pf-5");
        CHECK(result.reason == AttributionReason::tracing_not_set_up);
        CHECK(result.detail == (root / "/sys/kernel/tracing/instances/kmod-tools").string() + " does not exist");
    }
}

TEST_CASE("attribute_request when other helpers keep the event journal locked: unknown, judged strictest")
{
    FakeRoot root;
    kmodtools::testing::make_ready_instance(root);
    root.mkdir("/run/kmod-tools", 0755);
    root.write("/run/kmod-tools/request-events", "", 0600);
    const UniqueFd held(::open((root / "/run/kmod-tools/request-events").c_str(), O_RDWR | O_CLOEXEC));
    REQUIRE(held);
    REQUIRE(::flock(held.get(), LOCK_EX | LOCK_NB) == 0);
    const auto result = attribute_request(root.paths(), "fs-minix");
    CHECK(result.kind == AttributionKind::unknown);
    CHECK(result.reason == AttributionReason::journal_busy);
    CHECK(result.requester_class == RequesterClass::unknown);
    CHECK(result.describe() == "an unknown requester (the event journal stayed busy: " +
                                   (root / "/run/kmod-tools/request-events").string() +
                                   " stayed locked by other helpers for " +
                                   std::to_string(journal_lock_timeout.count()) + " ms)");
}
