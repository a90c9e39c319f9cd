// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the shared journal of drained module_request events: draining, bounds, gaps, refusals.
#include "request_event_journal.hpp"

#include "error.hpp"
#include "fake_root.hpp"
#include "module_request_trace.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

namespace {

constexpr std::uint64_t now = 1000ULL * 1000000000ULL;

// A non-blocking pipe stands in for trace_pipe: it gives what was written, then EAGAIN.
struct FakePipe {
    int fds[2] = {-1, -1};
    FakePipe() { REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0); }
    ~FakePipe()
    {
        ::close(fds[0]);
        ::close(fds[1]);
    }
    void put(const std::string& text)
    {
        REQUIRE(::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    }
    // `asked_ns`: the trace clock's time at the call, and at the drain's start if it drains.
    JournalContent drain(const FakeRoot& root, std::uint64_t asked_ns = now)
    {
        return drain_request_events(
            root.paths(), [this] { return UniqueFd(::fcntl(fds[0], F_DUPFD_CLOEXEC, 0)); }, "trace_pipe",
            [asked_ns] { return asked_ns; });
    }
};

std::string request_line(unsigned pid, unsigned seconds)
{
    char line[160];
    std::snprintf(line, sizeof line,
                  "%16s-%-7u [000] ..... %5u.000000: module_request: fs-%u wait=1 call_site=get_fs_type\n", "mount",
                  pid, seconds, pid);
    return line;
}

const std::string marker =
    "     kmod-sysctl-90      [000] .....     1.000000: tracing_mark_write: kmod-tools: recording\n";

} // namespace

TEST_CASE("a reset journal, then drains")
{
    FakeRoot root;
    FakePipe pipe;
    reset_request_events(root.paths());
    const auto path = root / "/run/kmod-tools/request-events";
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);

    pipe.put(marker + request_line(100, 2));
    const auto first = pipe.drain(root);
    CHECK(first.events == marker + request_line(100, 2));
    CHECK(first.gap_until_ns == 0);
    CHECK_FALSE(first.cut_short);
    const auto nothing_new = pipe.drain(root);
    CHECK(nothing_new.events == first.events);
    CHECK(nothing_new.generation == first.generation);
    pipe.put(request_line(101, 3));
    const auto more = pipe.drain(root);
    CHECK(more.events == first.events + request_line(101, 3));
    CHECK(more.generation == first.generation + 1);
    const auto trace = parse_module_request_trace(more.events);
    CHECK(trace.events.size() == 2);
    CHECK(trace.malformed_lines == 0);

    SUBCASE("a reset forgets the events and moves the generation on")
    {
        reset_request_events(root.paths());
        const auto fresh = pipe.drain(root);
        CHECK(fresh.events.empty());
        CHECK(fresh.generation > more.generation);
    }
}

TEST_CASE("gaps: a journal nobody reset, a mangled one, a drain that died")
{
    FakeRoot root;
    FakePipe pipe;
    SUBCASE("missing: what came before is unknown")
    {
        CHECK(pipe.drain(root).gap_until_ns == now);
    }
    SUBCASE("mangled")
    {
        root.write("/run/kmod-tools/request-events", "garbage\n" + request_line(1, 1), 0600);
        const auto journal = pipe.drain(root);
        CHECK(journal.gap_until_ns == now);
        CHECK(journal.events.empty());
    }
    SUBCASE("a drain that died holding events it had read")
    {
        reset_request_events(root.paths());
        pipe.put(marker);
        pipe.drain(root);
        // What a helper killed between reading trace_pipe and saving leaves: pending=1.
        const auto path = root / "/run/kmod-tools/request-events";
        auto content = kmodtools::testing::read_file(path);
        content[content.find("pending=0") + 8] = '1';
        root.write("/run/kmod-tools/request-events", content, 0600);
        const auto journal = pipe.drain(root);
        CHECK(journal.gap_until_ns == now);
        CHECK(journal.events == marker); // kept: only what is newer than them may be missing
        CHECK(kmodtools::testing::read_file(path).find("pending=0") != std::string::npos);
    }
}

TEST_CASE("bounded: the oldest half goes, the gap says so, the marker stays")
{
    FakeRoot root;
    FakePipe pipe;
    reset_request_events(root.paths());
    pipe.put(marker);
    pipe.drain(root);
    for (unsigned i = 0; i < max_journal_records + 10; ++i) {
        pipe.put(request_line(1000 + i, 10 + i));
        pipe.drain(root);
    }
    const auto journal = pipe.drain(root);
    const auto trace = parse_module_request_trace(journal.events);
    CHECK(trace.events.size() <= max_journal_records);
    CHECK(trace.events.size() >= max_journal_records / 2);
    CHECK(trace.recording_since_ns == 1000000000ULL);
    CHECK(trace.events.back().pid == 1000 + max_journal_records + 9);
    // Everything older than the first event kept may be gone.
    CHECK(journal.gap_until_ns == trace.events.front().timestamp_ns);
    ModuleRequestTrace with_gap = trace;
    with_gap.gap_until_ns = journal.gap_until_ns;
    CHECK(with_gap.complete_since_ns() == trace.events.front().timestamp_ns);
    CHECK(std::filesystem::file_size(root / "/run/kmod-tools/request-events") < 64 * 1024);
}

TEST_CASE("a record with newlines in its comm is never split by trimming")
{
    FakeRoot root;
    FakePipe pipe;
    reset_request_events(root.paths());
    pipe.put(marker);
    pipe.drain(root);
    for (unsigned i = 0; i < max_journal_records + 10; ++i) {
        pipe.put("           a\nb\nc-" + std::to_string(2000 + i) + "    [000] .....    " + std::to_string(10 + i) +
                 ".000000: module_request: net-pf-13 wait=1 call_site=__sock_create\n");
        pipe.drain(root);
    }
    const auto trace = parse_module_request_trace(pipe.drain(root).events);
    CHECK(trace.malformed_lines == 0);
    for (const auto& event : trace.events)
        CHECK(event.comm == "a\nb\nc");
}

TEST_CASE("a journal others could steer is refused")
{
    FakeRoot root;
    FakePipe pipe;
    root.mkdir("/run/kmod-tools", 0755);
    SUBCASE("a symlink")
    {
        root.write("/tmp/elsewhere", "");
        root.symlink((root / "/tmp/elsewhere").string(), "/run/kmod-tools/request-events");
        CHECK_THROWS_WITH_AS(
            pipe.drain(root),
            ("refusing " + (root / "/run/kmod-tools/request-events").string() + ": it is a symlink").c_str(), Error);
        CHECK_THROWS_AS(reset_request_events(root.paths()), Error);
    }
    SUBCASE("group-writable")
    {
        root.write("/run/kmod-tools/request-events", "", 0660);
        CHECK_THROWS_AS(pipe.drain(root), Error);
    }
    SUBCASE("in a directory others can write")
    {
        ::chmod((root / "/run/kmod-tools").c_str(), 0777);
        CHECK_THROWS_AS(pipe.drain(root), Error);
    }
}

// Another helper's lock on the journal, through a descriptor of its own (flock locks of two open
// files conflict even within one process).
struct OtherHelper {
    UniqueFd fd;
    OtherHelper(const FakeRoot& root, int operation)
        : fd(::open((root / "/run/kmod-tools/request-events").c_str(), O_RDWR | O_CLOEXEC))
    {
        REQUIRE(fd);
        REQUIRE(::flock(fd.get(), operation | LOCK_NB) == 0);
    }
};

TEST_CASE("a drain that began after the request is shared, an older one is not")
{
    FakeRoot root;
    FakePipe pipe;
    reset_request_events(root.paths());
    pipe.put(marker + request_line(100, 2));
    const auto first = pipe.drain(root, now); // drained at `now`
    pipe.put(request_line(101, 3));           // in trace_pipe, not yet in the journal

    SUBCASE("asked before the drain began: its journal is taken as it is")
    {
        const OtherHelper reader(root, LOCK_SH); // the exclusive lock is taken: someone drains
        const auto shared = pipe.drain(root, now - 1);
        CHECK(shared.events == first.events);
        CHECK(shared.generation == first.generation);
    }
    SUBCASE("asked after it began: waits for the lock and drains itself")
    {
        std::optional<OtherHelper> reader(std::in_place, root, LOCK_SH);
        std::thread release([&reader] {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            reader.reset();
        });
        const auto own = pipe.drain(root, now + 1);
        release.join();
        CHECK(own.events == first.events + request_line(101, 3));
        CHECK(own.generation == first.generation + 1);
    }
    SUBCASE("a drain that died (pending) is never shared")
    {
        const auto path = root / "/run/kmod-tools/request-events";
        auto content = kmodtools::testing::read_file(path);
        content[content.find("pending=0") + 8] = '1';
        root.write("/run/kmod-tools/request-events", content, 0600);
        std::optional<OtherHelper> reader(std::in_place, root, LOCK_SH);
        std::thread release([&reader] {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            reader.reset();
        });
        const auto own = pipe.drain(root, now - 1);
        release.join();
        CHECK(own.events == first.events + request_line(101, 3));
        CHECK(own.gap_until_ns == now - 1);
    }
}

TEST_CASE("a lock held too long: the drain gives up with EWOULDBLOCK, the journal untouched")
{
    FakeRoot root;
    FakePipe pipe;
    reset_request_events(root.paths());
    pipe.put(marker);
    const auto first = pipe.drain(root);
    pipe.put(request_line(101, 3));
    const auto path = root / "/run/kmod-tools/request-events";
    const auto before = kmodtools::testing::read_file(path);
    const OtherHelper drainer(root, LOCK_EX);
    const auto started = std::chrono::steady_clock::now();
    try {
        pipe.drain(root, now + 1);
        FAIL("the drain did not give up");
    } catch (const Error& error) {
        CHECK(error.errnum() == EWOULDBLOCK);
        CHECK(std::string(error.what()) ==
              path.string() + " stayed locked by other helpers for " + std::to_string(journal_lock_timeout.count()) +
                  " ms");
    }
    CHECK(std::chrono::steady_clock::now() - started >= journal_lock_timeout);
    CHECK(kmodtools::testing::read_file(path) == before);
    CHECK(first.generation > 0);
}
