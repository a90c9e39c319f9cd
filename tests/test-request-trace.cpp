// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of kmod-tools' trace instance on fake tracefs trees: its states, the settings it relies on,
// what is refused. (Creating and removing a real instance is proven in the VM, tests/vm/scenarios/trace.sh.)
#include "request_trace.hpp"

#include "error.hpp"
#include "fake_root.hpp"
#include "fake_trace.hpp"
#include "skip.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;
using kmodtools::testing::is_root;

namespace {

const std::string instance = "/sys/kernel/tracing/instances/kmod-tools";
using kmodtools::testing::make_ready_instance;

// trace_pipe consumes what it gives; the fake one is emptied by hand.
void consume(const FakeRoot& root, const std::string& base = "/sys/kernel/tracing")
{
    root.write(base + "/instances/kmod-tools/trace_pipe", "", 0640);
}

} // namespace

TEST_CASE("a ready instance")
{
    FakeRoot root;
    make_ready_instance(root);
    const auto status = check_request_trace(root.paths());
    CHECK(status.state == TraceState::ready);
    CHECK(status.problem == "");
    CHECK(status.instance_dir == root / instance);
    consume(root);
    // The events stay in the journal that every helper shares.
    const auto snapshot = read_request_trace(root.paths());
    REQUIRE(snapshot.status.state == TraceState::ready);
    REQUIRE(snapshot.trace.events.size() == 1);
    CHECK(snapshot.trace.events[0].name == "fs-minix");
    CHECK(snapshot.trace.recording_since_ns == 5100000000ULL);
    CHECK(read_request_trace(root.paths()).generation == snapshot.generation);
    CHECK(request_trace_generation(root.paths()) == snapshot.generation);
    root.write(
        instance + "/trace_pipe",
        "       vm-socket-122     [000] .....     6.159579: module_request: net-pf-5 wait=1 call_site=__sock_create\n",
        0640);
    const auto later = read_request_trace(root.paths());
    CHECK(later.generation > snapshot.generation);
    CHECK(later.trace.events.size() == 2);
    SUBCASE("set-up leaves it alone (its events too)")
    {
        consume(root);
        CHECK(set_up_request_trace(root.paths()).state == TraceState::ready);
        CHECK(read_request_trace(root.paths()).trace.events.size() == 2);
    }
    SUBCASE("where only debugfs reaches tracefs")
    {
        FakeRoot old;
        old.mkdir("/sys/kernel/tracing", 0555); // the empty mount point of an unmounted tracefs
        make_ready_instance(old, "/sys/kernel/debug/tracing");
        CHECK(check_request_trace(old.paths()).state == TraceState::ready);
        CHECK(check_request_trace(old.paths()).instance_dir == old / "/sys/kernel/debug/tracing/instances/kmod-tools");
    }
}

TEST_CASE("no tracefs, no instance")
{
    FakeRoot root;
    CHECK(check_request_trace(root.paths()).state == TraceState::no_tracefs);
    root.mkdir("/sys/kernel/tracing", 0555);
    const auto unmounted = check_request_trace(root.paths());
    CHECK(unmounted.state == TraceState::no_tracefs);
    CHECK(unmounted.problem.find("tracefs is not mounted on " + (root / "/sys/kernel/tracing").string()) == 0);
    CHECK_THROWS_WITH_AS(set_up_request_trace(root.paths()),
                         ("cannot set up request tracing: " + unmounted.problem).c_str(), Error);
    CHECK_FALSE(remove_request_trace(root.paths()));
    ::chmod((root / "/sys/kernel/tracing").c_str(), 0700); // "mounted"
    root.mkdir("/sys/kernel/tracing/instances", 0750);
    const auto absent = check_request_trace(root.paths());
    CHECK(absent.state == TraceState::absent);
    CHECK(absent.problem == (root / instance).string() + " does not exist");
    CHECK_FALSE(remove_request_trace(root.paths()));
}

TEST_CASE("a set-up that fails part way leaves no instance behind")
{
    // A fake tracefs: mkdir makes an empty directory where tracefs would fill in the settings, so
    // the first setting cannot be opened, as a write to a real one might fail.
    FakeRoot root;
    root.mkdir("/sys/kernel/tracing", 0700);
    root.mkdir("/sys/kernel/tracing/instances", 0750);
    const auto set_event = (root / instance).string() + "/set_event";
    CHECK_THROWS_WITH_AS(set_up_request_trace(root.paths()),
                         ("cannot open " + set_event + ": No such file or directory").c_str(), Error);
    CHECK_FALSE(std::filesystem::exists(root / instance));
    CHECK(check_request_trace(root.paths()).state == TraceState::absent);
}

TEST_CASE("every setting attribution relies on is checked on each read")
{
    FakeRoot root;
    make_ready_instance(root);
    struct Case {
        std::string file;
        std::string value;
        std::string problem;
    };
    for (const auto& [file, value, problem] : std::initializer_list<Case>{
             {"set_event", "module:module_request\nsched:sched_switch\n",
              "set_event is 'module:module_request\\x0asched:sched_switch', not 'module:module_request'"},
             {"set_event", "", "set_event is '', not 'module:module_request'"},
             {"set_event_pid", "812\n", "set_event_pid is '812', not ''"},
             {"tracing_on", "0\n", "tracing_on is '0', not '1'"},
             {"trace_options", "nooverwrite\nnopause-on-trace\nnomarkers\n",
              "option overwrite is not on in trace_options"},
             {"trace_options", "overwrite\npause-on-trace\nnomarkers\n",
              "option pause-on-trace is not off in trace_options"},
             {"trace_options", "overwrite\nnopause-on-trace\nmarkers\n", "option markers is not off in trace_options"},
             {"trace_clock", "[local] global boot\n", "trace_clock is 'local', not 'boot'"}}) {
        CAPTURE(file);
        const auto path = root / (instance + "/" + file);
        const auto saved = kmodtools::testing::read_file(path);
        root.write(instance + "/" + file, value, 0640);
        const auto snapshot = read_request_trace(root.paths());
        CHECK(snapshot.status.state == TraceState::misconfigured);
        CHECK(snapshot.status.problem == problem);
        CHECK(snapshot.trace.events.empty());
        root.write(instance + "/" + file, saved, 0640);
    }
    SUBCASE("the buffer size only at set-up time")
    {
        root.write(instance + "/buffer_size_kb", "1410 (expanded: 1408)\n", 0640);
        CHECK(read_request_trace(root.paths()).status.state == TraceState::ready);
        CHECK(check_request_trace(root.paths()).problem == "buffer_size_kb is '1410 (expanded: 1408)', not '16'");
        root.write(instance + "/buffer_size_kb", "19\n", 0640); // 16 rounded up to whole sub-buffers
        CHECK(check_request_trace(root.paths()).state == TraceState::ready);
        root.write(instance + "/buffer_size_kb", "64\n", 0640);
        CHECK(check_request_trace(root.paths()).state == TraceState::misconfigured);
    }
    SUBCASE("an instance kmod-tools did not set up: no start marker")
    {
        root.write(instance + "/trace_pipe",
                   "           mount-107     [000] .....     5.689224: module_request: fs-minix wait=1 "
                   "call_site=get_fs_type\n",
                   0640);
        const auto status = check_request_trace(root.paths());
        CHECK(status.state == TraceState::misconfigured);
        CHECK(status.problem == "the instance was not set up by kmod-tools (no start marker in its events)");
    }
    SUBCASE("a missing setting file")
    {
        std::filesystem::remove(root / (instance + "/trace_options"));
        CHECK_THROWS_AS(read_request_trace(root.paths()), Error);
    }
}

TEST_CASE("directories others could write are refused, not trusted")
{
    FakeRoot root;
    make_ready_instance(root);
    SUBCASE("the instance")
    {
        ::chmod((root / instance).c_str(), 0777);
        CHECK_THROWS_WITH_AS(check_request_trace(root.paths()),
                             ("refusing " + (root / instance).string() + ": writable by group or others").c_str(),
                             Error);
    }
    SUBCASE("tracefs itself")
    {
        ::chmod((root / "/sys/kernel/tracing").c_str(), 0770);
        CHECK_THROWS_AS(check_request_trace(root.paths()), Error);
    }
    SUBCASE("an instance that is a symlink to a directory a user made")
    {
        std::filesystem::remove_all(root / instance);
        make_ready_instance(root, "/home/user/fake");
        root.symlink((root / "/home/user/fake/instances/kmod-tools").string(), instance);
        CHECK_THROWS_WITH_AS(check_request_trace(root.paths()),
                             ("refusing " + (root / instance).string() + ": it is a symlink").c_str(), Error);
    }
    SUBCASE("owned by another user")
    {
        SKIP_UNLESS(is_root(), "needs root to chown the fake instance to another user");
        REQUIRE(::chown((root / instance).c_str(), 65534, 65534) == 0);
        CHECK_THROWS_WITH_AS(check_request_trace(root.paths()),
                             ("refusing " + (root / instance).string() + ": owned by uid 65534, not by root").c_str(),
                             Error);
    }
}
