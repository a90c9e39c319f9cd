// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the module_request trace parser: real kernel output, hostile names, odd and broken lines.
#include "module_request_trace.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>

using namespace kmodtools;

namespace {

// Verbatim from Debian 12's 6.1.0-57 kernel in the VM (trace_clock boot, default options).
const std::string header = "# tracer: nop\n"
                           "#\n"
                           "# entries-in-buffer/entries-written: 3/3   #P:1\n"
                           "#\n"
                           "#                                _-----=> irqs-off/BH-disabled\n"
                           "#                               / _----=> need-resched\n"
                           "#                              | / _---=> hardirq/softirq\n"
                           "#                              || / _--=> preempt-depth\n"
                           "#                              ||| / _-=> migrate-disable\n"
                           "#                              |||| /     delay\n"
                           "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
                           "#              | |         |   |||||     |         |\n";
const std::string marker_line =
    "     kmod-sysctl-90      [000] .....     5.100000: tracing_mark_write: kmod-tools: recording\n";
const std::string minix_line =
    "           mount-107     [000] .....     5.689224: module_request: fs-minix wait=1 call_site=get_fs_type\n";
const std::string socket_line =
    "       vm-socket-122     [000] .....     6.159579: module_request: net-pf-5 wait=1 call_site=__sock_create\n";

std::string strip_newline(std::string line)
{
    line.pop_back();
    return line;
}

} // namespace

TEST_CASE("a line of Debian 12's kernel")
{
    const auto event = parse_module_request_line(strip_newline(minix_line));
    REQUIRE(event);
    CHECK(event->comm == "mount");
    CHECK(event->pid == 107);
    CHECK(event->cpu == 0);
    CHECK(event->timestamp_ns == 5689224000ULL);
    CHECK(event->name == "fs-minix");
    CHECK(event->wait);
    CHECK(event->name_certain);
}

TEST_CASE("the whole trace")
{
    const auto trace = parse_module_request_trace(header + marker_line + minix_line + socket_line);
    REQUIRE(trace.events.size() == 2);
    CHECK(trace.events[1].name == "net-pf-5");
    CHECK(trace.events[1].pid == 122);
    CHECK(trace.entries_in_buffer == 3);
    CHECK(trace.entries_written == 3);
    CHECK(trace.other_events == 1);
    CHECK(trace.malformed_lines == 0);
    CHECK(trace.recording_since_ns == 5100000000ULL);
    CHECK_FALSE(trace.lost_any());
    CHECK(trace.complete_since_ns() == 5100000000ULL);
    CHECK(trace.cpu_oldest_ns.at(0) == 5100000000ULL);
}

TEST_CASE("other layouts the kernel prints")
{
    SUBCASE("without irq-info")
    {
        const auto event = parse_module_request_line(
            "           mount-107     [000]      5.689224: module_request: fs-minix wait=1 call_site=get_fs_type");
        REQUIRE(event);
        CHECK(event->name == "fs-minix");
    }
    SUBCASE("with record-tgid")
    {
        const auto event = parse_module_request_line("           mount-107     (    107) [002] d..1.  1234.000001: "
                                                     "module_request: fs-minix wait=1 call_site=get_fs_type");
        REQUIRE(event);
        CHECK(event->cpu == 2);
        CHECK(event->timestamp_ns == 1234000001000ULL);
        const auto no_tgid = parse_module_request_line("           mount-107     (-------) [002] .....  1234.000001: "
                                                       "module_request: fs-minix wait=1 call_site=get_fs_type");
        CHECK(no_tgid);
    }
    SUBCASE("a seven-digit pid, a four-digit cpu, a long uptime")
    {
        const auto event =
            parse_module_request_line("           <...>-4194303 [1023] ..... 99999999.999999: module_request: "
                                      "crypto-aes wait=0 call_site=crypto_alg_mod_lookup [crypto]");
        REQUIRE(event);
        CHECK(event->comm == "<...>");
        CHECK(event->pid == 4194303);
        CHECK(event->cpu == 1023);
        CHECK_FALSE(event->wait);
        CHECK(event->timestamp_ns == 99999999999999000ULL);
    }
}

TEST_CASE("comm with spaces, brackets, dashes and digits is taken by its fixed width")
{
    // prctl(PR_SET_NAME) allows any 15 bytes: here "a-1 [000] .... ", the shape of the prefix itself.
    const auto event = parse_module_request_line(
        " a-1 [000] .... -812     [000] .....     7.000000: module_request: net-pf-33 wait=1 call_site=__sock_create");
    REQUIRE(event);
    CHECK(event->comm == "a-1 [000] .... ");
    CHECK(event->pid == 812);
    CHECK(event->name == "net-pf-33");
}

TEST_CASE("comm with newlines splits the record inside its field: put back together")
{
    // "e\x1b[31m\n%s'\xff" (11 bytes) right-justified in 16, as the kernel prints it.
    const std::string comm = "e\x1b[31m\n%s'\xff";
    const auto trace = parse_module_request_trace(
        header + marker_line + std::string(16 - comm.size(), ' ') + comm +
        "-812     [000] .....     7.000000: module_request: net-pf-13 wait=1 call_site=__sock_create\n" +
        "           a\nb\nc-813     [000] .....     7.100000: module_request: net-pf-14 wait=1 "
        "call_site=__sock_create\n" +
        socket_line);
    REQUIRE(trace.events.size() == 3);
    CHECK(trace.malformed_lines == 0);
    CHECK(trace.events[0].comm == comm);
    CHECK(trace.events[0].pid == 812);
    CHECK(trace.events[0].name_certain);
    CHECK(trace.events[1].comm == "a\nb\nc");
    CHECK(trace.events[1].name == "net-pf-14");
    CHECK(trace.events[2].name_certain);
}

TEST_CASE("hostile request names")
{
    SUBCASE("quotes and a fake tail: the kernel's tail is the last one")
    {
        const auto event =
            parse_module_request_line("           mount-205     [000] .....     7.609773: module_request: fs-a'b "
                                      "wait=1 call_site=x wait=1 call_site=get_fs_type");
        REQUIRE(event);
        CHECK(event->name == "fs-a'b wait=1 call_site=x");
        CHECK(event->name_certain);
    }
    SUBCASE("a newline ends the line early: the line and the rest are not trusted")
    {
        const auto trace =
            parse_module_request_trace(header +
                                       "           mount-300     [000] .....     8.000000: module_request: fs-x\n"
                                       "evil wait=1 call_site=get_fs_type\n" +
                                       socket_line);
        REQUIRE(trace.events.size() == 2);
        CHECK_FALSE(trace.events[0].name_certain);
        CHECK(trace.events[0].pid == 300);
        CHECK_FALSE(trace.events[1].name_certain); // right after a continuation line
        CHECK(trace.malformed_lines == 1);
    }
    SUBCASE("a complete-looking first line before the continuation is not trusted either")
    {
        const auto trace = parse_module_request_trace(
            header + "           mount-301     [000] .....     8.000000: module_request: fs-a wait=1 call_site=x\n"
                     "rest wait=1 call_site=get_fs_type\n");
        REQUIRE(trace.events.size() == 1);
        CHECK(trace.events[0].name == "fs-a");
        CHECK_FALSE(trace.events[0].name_certain);
    }
    SUBCASE("a continuation that looks like a header line")
    {
        const auto trace = parse_module_request_trace(
            header + "           mount-302     [000] .....     8.000000: module_request: fs-a wait=1 call_site=x\n"
                     "# entries-in-buffer/entries-written: 0/0 wait=1 call_site=get_fs_type\n");
        REQUIRE(trace.events.size() == 1);
        CHECK_FALSE(trace.events[0].name_certain);
        CHECK(trace.entries_written == 3); // the real header's, not the forged one
    }
    SUBCASE("a huge name")
    {
        const std::string name(100000, 'n');
        const auto event =
            parse_module_request_line("           mount-107     [000] .....     5.689224: module_request: " + name +
                                      " wait=1 call_site=get_fs_type");
        REQUIRE(event);
        CHECK(event->name == name);
    }
    SUBCASE("an empty name")
    {
        const auto event = parse_module_request_line(
            "           mount-107     [000] .....     5.689224: module_request:  wait=1 call_site=get_fs_type");
        REQUIRE(event);
        CHECK(event->name.empty());
    }
}

TEST_CASE("markers of lost events and overruns")
{
    const auto trace = parse_module_request_trace(
        "# entries-in-buffer/entries-written: 2/40   #P:2\n"
        "##### CPU 1 buffer started ####\n"
        "           mount-107     [001] .....    50.000000: module_request: fs-minix wait=1 call_site=get_fs_type\n"
        "CPU:0 [LOST 12 EVENTS]\n"
        "##### CPU 0 buffer started ####\n"
        "       vm-socket-122     [000] .....    60.000000: module_request: net-pf-5 wait=1 call_site=__sock_create\n"
        "CPU:1 [LOST EVENTS]\n");
    CHECK(trace.events.size() == 2);
    CHECK(trace.malformed_lines == 0);
    CHECK(trace.lost_events == 12);
    CHECK(trace.lost_uncounted);
    CHECK(trace.lost_any());
    // A loss after the last event: anything up to now may be missing.
    CHECK(trace.complete_since_ns() == UINT64_MAX);
    CHECK(trace.events[0].name_certain);
    SUBCASE("a loss is bounded by the event after it")
    {
        const auto bounded = parse_module_request_trace(
            "     kmod-sysctl-90      [000] .....     5.100000: tracing_mark_write: kmod-tools: recording\n"
            "           mount-107     [000] .....    50.000000: module_request: fs-minix wait=1 call_site=get_fs_type\n"
            "CPU:0 [LOST 12 EVENTS]\n"
            "       vm-socket-122     [000] .....    60.000000: module_request: net-pf-5 wait=1 "
            "call_site=__sock_create\n"
            "       vm-socket-123     [000] .....    70.000000: module_request: net-pf-5 wait=1 "
            "call_site=__sock_create\n");
        CHECK(bounded.lost_until_ns == 60000000000ULL);
        CHECK(bounded.complete_since_ns() == 60000000000ULL);
    }
    SUBCASE("the trace file of an overwritten buffer: the newest of the CPUs' oldest records")
    {
        const auto overwritten = parse_module_request_trace(
            "# entries-in-buffer/entries-written: 2/40   #P:2\n"
            "           mount-107     [001] .....    50.000000: module_request: fs-minix wait=1 call_site=get_fs_type\n"
            "       vm-socket-122     [000] .....    60.000000: module_request: net-pf-5 wait=1 "
            "call_site=__sock_create\n");
        CHECK(overwritten.complete_since_ns() == 60000000000ULL);
    }
}

TEST_CASE("what the parser knows is complete")
{
    SUBCASE("an instance kmod-tools did not set up (no marker) is never complete")
    {
        const auto trace = parse_module_request_trace(header + minix_line);
        CHECK(trace.complete_since_ns() == UINT64_MAX);
    }
    SUBCASE("overwritten: the oldest record left, even if the marker is gone")
    {
        auto text = header + minix_line + socket_line;
        text.replace(text.find("3/3"), 3, "2/9");
        const auto trace = parse_module_request_trace(text);
        CHECK(trace.complete_since_ns() == 5689224000ULL);
    }
    SUBCASE("a text cut short")
    {
        auto trace = parse_module_request_trace(header + marker_line + minix_line);
        trace.cut_short = true;
        CHECK(trace.complete_since_ns() == UINT64_MAX);
    }
}

TEST_CASE("a truncated last line never yields a certain name")
{
    const std::string full = strip_newline(minix_line);
    for (std::size_t length = 0; length < full.size(); ++length) {
        const auto trace = parse_module_request_trace(header + marker_line + full.substr(0, length));
        for (const auto& event : trace.events)
            CHECK_MESSAGE(!event.name_certain, "cut at ", length);
    }
}

TEST_CASE("lines that are not events")
{
    for (const char* line :
         {"", "garbage", "           mount-107     [000] .....",
          "           mount-abc     [000] .....     5.689224: module_request: x wait=1 call_site=y",
          "           mount-107     [000] .....     5.68922: module_request: x wait=1 call_site=y",
          "           mount-107     [000] .....     5.6892245: module_request: x wait=1 call_site=y",
          "           mount-107     [00] .....     5.689224: module_request: x wait=1 call_site=y",
          "           mount-99999999 [000] .....     5.689224: module_request: x wait=1 call_site=y",
          "           mount-107     [000] .....  99999999999999999999.000000: module_request: x wait=1 call_site=y",
          "           mount-107     [000] .....     5.689224 module_request: x wait=1 call_site=y",
          "           mount-107     [000] .....     5.689224: module request: x wait=1 call_site=y",
          "           mount-107     [000] .....     5.689224: tracing_mark_write: module_request: x wait=1 "
          "call_site=y"}) {
        CHECK_MESSAGE(!parse_module_request_line(line), line);
    }
    SUBCASE("a missing tail: a pid, but no name to trust")
    {
        for (const char* line :
             {"           mount-107     [000] .....     5.689224: module_request: x wait=2 call_site=y",
              "           mount-107     [000] .....     5.689224: module_request: x wait=1 call_site=",
              "           mount-107     [000] .....     5.689224: module_request: x wait=1",
              "           mount-107     [000] .....     5.689224: module_request: x"}) {
            const auto event = parse_module_request_line(line);
            REQUIRE_MESSAGE(event, line);
            CHECK(event->pid == 107);
            CHECK_FALSE(event->name_certain);
        }
    }
}

TEST_CASE("any bytes: never a crash, never a certain event from garbage")
{
    // Fuzz-style: random mutations of real lines and random bytes. The checks are that nothing
    // throws or crashes (ASan/UBSan builds run this too) and that garbage yields no certain event.
    std::mt19937 random(12345);
    const std::string base = header + marker_line + minix_line + socket_line;
    for (int round = 0; round < 3000; ++round) {
        std::string text = base;
        const int mutations = 1 + static_cast<int>(random() % 8);
        for (int m = 0; m < mutations; ++m) {
            const auto at = random() % text.size();
            switch (random() % 4) {
            case 0:
                text[at] = static_cast<char>(random() % 256);
                break;
            case 1:
                text.erase(at, 1 + random() % 20);
                break;
            case 2:
                text.insert(at, 1, static_cast<char>(random() % 256));
                break;
            default:
                text.resize(at);
                break;
            }
            if (text.empty())
                text = "x";
        }
        const auto trace = parse_module_request_trace(text);
        // The marker line is the only other line that could become an event.
        CHECK(trace.events.size() <= 3);
    }
    for (int round = 0; round < 1000; ++round) {
        std::string noise(random() % 400, '\0');
        for (auto& c : noise)
            c = static_cast<char>(random() % 256);
        const auto trace = parse_module_request_trace(noise);
        const auto lines = static_cast<std::size_t>(std::count(noise.begin(), noise.end(), '\n')) + 1;
        CHECK(trace.events.size() + trace.malformed_lines + trace.other_events <= lines);
        for (const auto& event : trace.events)
            CHECK(event.pid <= 9999999); // "%-7d"
    }
}
