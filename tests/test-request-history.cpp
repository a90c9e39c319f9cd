// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the request history: format, 50 concurrent writers, rotation bound, torn and corrupt lines,
// refused files, a full disk.
#include "request_history.hpp"

#include "error.hpp"
#include "fake_root.hpp"
#include "skip.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;
using kmodtools::testing::is_root;

namespace {

const std::string state = "/var/lib/kmod-tools";
const std::string history = state + "/request-history";

HistoryEntry entry(std::int64_t time_us, std::string name = "net-pf-5")
{
    HistoryEntry e;
    e.time_us = time_us;
    e.name = std::move(name);
    e.modules = {"appletalk", "psnap", "p8022"};
    e.decision = "granted";
    e.requester_class = RequesterClass::unprivileged;
    e.requester = "pid 812 ('sock-test', uid 1000, no CAP_SYS_MODULE, cgroup '/user.slice')";
    return e;
}

// Runs `body` in `count` child processes at once; true if every child exited 0.
template <typename Body> bool in_children(int count, Body body)
{
    std::vector<pid_t> children;
    for (int i = 0; i < count; ++i) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            int status = 0;
            try {
                body(i);
            } catch (...) {
                status = 1;
            }
            ::_exit(status);
        }
        if (pid < 0)
            return false;
        children.push_back(pid);
    }
    bool ok = true;
    for (const pid_t pid : children) {
        int status = 0;
        if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            ok = false;
    }
    return ok;
}

} // namespace

TEST_CASE("entries round-trip, hostile bytes included")
{
    auto e = entry(1700000000123456);
    CHECK(parse_history_line(format_history_entry(e).substr(0, format_history_entry(e).size() - 1)) == e);
    for (const std::string& name : {std::string("fs-a\tb\nkmod-request: audit: fake"), std::string("fs-\x1e\x1e"),
                                    std::string("back\\x41slash"), std::string("caf\xc3\xa9\xff"), std::string(""),
                                    std::string("it's \"quoted\" %s%n"), std::string("nul\0byte", 8)}) {
        CAPTURE(name);
        e.name = name;
        e.requester = "pid 1 ('" + name + "')";
        e.modules = {name.empty() ? "m" : name};
        const auto line = format_history_entry(e);
        CHECK(line.front() == '\x1e');
        CHECK(line.back() == '\n');
        // One line, printable ASCII apart from its separator, tabs and newline.
        for (std::size_t i = 1; i + 1 < line.size(); ++i)
            CHECK(((line[i] >= 0x20 && line[i] < 0x7f) || line[i] == '\t'));
        CHECK(parse_history_line(line.substr(0, line.size() - 1)) == e);
    }
    SUBCASE("fields are bounded")
    {
        e.name = std::string(100000, 'n');
        e.modules = std::vector<std::string>(1000, std::string(1000, 'm'));
        e.requester = std::string(100000, 'r');
        CHECK(format_history_entry(e).size() < max_history_line);
    }
    SUBCASE("a bad decision token is a programming error, reported")
    {
        e.decision = "granted\tbut";
        CHECK_THROWS_AS(format_history_entry(e), Error);
        e.decision = "";
        CHECK_THROWS_AS(format_history_entry(e), Error);
    }
}

TEST_CASE("corrupt lines are not entries")
{
    const auto line = format_history_entry(entry(1));
    const auto body = line.substr(0, line.size() - 1);
    for (std::size_t i = 0; i < body.size(); ++i) {
        auto flipped = body;
        flipped[i] = static_cast<char>(flipped[i] ^ 0x01);
        CHECK_MESSAGE(!parse_history_line(flipped), "byte ", i);
    }
    for (std::size_t length = 0; length < body.size(); ++length)
        CHECK_MESSAGE(!parse_history_line(body.substr(0, length)), "cut at ", length);
    CHECK_FALSE(parse_history_line(std::string(200, '\0')));
    CHECK_FALSE(parse_history_line("garbage"));
}

TEST_CASE("append and read back, since a time")
{
    FakeRoot root;
    for (std::int64_t t = 1; t <= 5; ++t)
        append_history(root.paths(), entry(t * 1000000));
    struct stat st {};
    REQUIRE(::stat((root / history).c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    const auto all = read_history(root.paths());
    CHECK(all.entries.size() == 5);
    CHECK(all.skipped_lines == 0);
    CHECK(all.entries.front() == entry(1000000));
    const auto recent = read_history(root.paths(), 4000000);
    REQUIRE(recent.entries.size() == 2);
    CHECK(recent.entries[0].time_us == 4000000);
    SUBCASE("no history yet is empty, not an error")
    {
        FakeRoot empty;
        CHECK(read_history(empty.paths()).entries.empty());
    }
}

TEST_CASE("50 concurrent writers lose nothing and never interleave")
{
    FakeRoot root;
    constexpr int writers = 50;
    constexpr int each = 40;
    const auto paths = root.paths();
    REQUIRE(in_children(writers, [&](int writer) {
        for (int i = 0; i < each; ++i)
            append_history(paths, entry(writer * 1000 + i, "w" + std::to_string(writer) + "-" + std::to_string(i)));
    }));
    const auto read = read_history(paths);
    CHECK(read.skipped_lines == 0);
    CHECK(read.entries.size() == writers * each);
    std::map<std::string, int> seen;
    for (const auto& e : read.entries)
        ++seen[e.name];
    CHECK(seen.size() == writers * each);
}

TEST_CASE("rotation keeps the history within its bound")
{
    FakeRoot root;
    const auto line_size = format_history_entry(entry(0)).size();
    HistoryLimits limits;
    limits.max_file_bytes = 20 * line_size;
    limits.rotated_files = 2;
    for (int i = 0; i < 1000; ++i)
        append_history(root.paths(), entry(i), limits);
    std::uint64_t total = 0;
    for (const auto* name : {"request-history", "request-history.1", "request-history.2"}) {
        struct stat st {};
        REQUIRE_MESSAGE(::stat((root / (state + "/" + name)).c_str(), &st) == 0, name);
        CHECK(static_cast<std::uint64_t>(st.st_size) <= limits.max_file_bytes);
        total += static_cast<std::uint64_t>(st.st_size);
    }
    CHECK_FALSE(std::filesystem::exists(root / (history + ".3")));
    CHECK(total <= 3 * limits.max_file_bytes);
    const auto read = read_history(root.paths(), 0, limits);
    CHECK(read.skipped_lines == 0);
    REQUIRE(!read.entries.empty());
    // The newest entries, in order, the last one included.
    CHECK(read.entries.back().time_us == 999);
    for (std::size_t i = 1; i < read.entries.size(); ++i)
        CHECK(read.entries[i].time_us == read.entries[i - 1].time_us + 1);
    CHECK(read.entries.size() > 2 * 20);

    SUBCASE("and under 50 concurrent writers")
    {
        FakeRoot busy;
        const auto paths = busy.paths();
        REQUIRE(in_children(50, [&](int writer) {
            for (int i = 0; i < 40; ++i)
                append_history(paths, entry(writer * 1000 + i), limits);
        }));
        for (const auto* name : {"request-history", "request-history.1", "request-history.2"}) {
            struct stat st {};
            REQUIRE(::stat((busy / (state + "/" + name)).c_str(), &st) == 0);
            // Writers that checked the size at the same moment may each add their line.
            CHECK(static_cast<std::uint64_t>(st.st_size) <= limits.max_file_bytes + 50 * line_size);
        }
        const auto concurrent = read_history(paths, 0, limits);
        CHECK(concurrent.skipped_lines == 0);
        // Each writer's entries that are left are its newest ones, in order: rotation dropped only the oldest.
        std::map<std::int64_t, std::vector<std::int64_t>> by_writer;
        for (const auto& e : concurrent.entries)
            by_writer[e.time_us / 1000].push_back(e.time_us % 1000);
        for (const auto& [writer, sequence] : by_writer) {
            CAPTURE(writer);
            CHECK(sequence.back() == 39);
            for (std::size_t i = 1; i < sequence.size(); ++i)
                CHECK(sequence[i] == sequence[i - 1] + 1);
        }
    }
}

TEST_CASE("a torn last line costs only itself")
{
    FakeRoot root;
    append_history(root.paths(), entry(1));
    const auto torn = format_history_entry(entry(2));
    {
        const int fd = ::open((root / history).c_str(), O_WRONLY | O_APPEND);
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, torn.data(), torn.size() / 2) > 0);
        ::close(fd);
    }
    auto read = read_history(root.paths());
    CHECK(read.entries.size() == 1);
    CHECK(read.skipped_lines == 1);
    SUBCASE("and the next writer's entry after it is read")
    {
        append_history(root.paths(), entry(3));
        read = read_history(root.paths());
        REQUIRE(read.entries.size() == 2);
        CHECK(read.entries[1].time_us == 3);
        CHECK(read.skipped_lines == 1);
    }
    SUBCASE("zeroes a crashed file system left behind")
    {
        const int fd = ::open((root / history).c_str(), O_WRONLY | O_APPEND);
        REQUIRE(fd >= 0);
        const std::string zeroes(4096, '\0');
        REQUIRE(::write(fd, zeroes.data(), zeroes.size()) == 4096);
        ::close(fd);
        append_history(root.paths(), entry(4));
        read = read_history(root.paths());
        CHECK(read.entries.size() == 2);
        CHECK(read.entries.back().time_us == 4);
    }
}

TEST_CASE("files that must not be trusted are refused with a clear error")
{
    FakeRoot root;
    root.mkdir(state, 0755);
    SUBCASE("a symlink")
    {
        root.write("/tmp/elsewhere", "");
        root.symlink((root / "/tmp/elsewhere").string(), history);
        CHECK_THROWS_WITH_AS(append_history(root.paths(), entry(1)),
                             ("refusing " + (root / history).string() + ": it is a symlink").c_str(), Error);
        CHECK_THROWS_WITH_AS(read_history(root.paths()),
                             ("refusing " + (root / history).string() + ": it is a symlink").c_str(), Error);
        CHECK(kmodtools::testing::read_file(root / "/tmp/elsewhere").empty());
    }
    SUBCASE("a dangling symlink is not followed to create a file")
    {
        root.symlink((root / "/tmp/created-by-us").string(), history);
        CHECK_THROWS_AS(append_history(root.paths(), entry(1)), Error);
        CHECK_FALSE(std::filesystem::exists(root / "/tmp/created-by-us"));
    }
    SUBCASE("group-writable")
    {
        root.write(history, "", 0620);
        CHECK_THROWS_WITH_AS(append_history(root.paths(), entry(1)),
                             ("refusing " + (root / history).string() + ": writable by group or others").c_str(),
                             Error);
        CHECK_THROWS_AS(read_history(root.paths()), Error);
    }
    SUBCASE("a directory")
    {
        root.mkdir(history, 0700);
        CHECK_THROWS_AS(append_history(root.paths(), entry(1)), Error);
    }
    SUBCASE("a state directory others can write")
    {
        ::chmod((root / state).c_str(), 0777);
        CHECK_THROWS_AS(append_history(root.paths(), entry(1)), Error);
    }
    SUBCASE("owned by another user")
    {
        SKIP_UNLESS(is_root(), "needs root to chown the history to another user");
        root.write(history, "", 0600);
        REQUIRE(::chown((root / history).c_str(), 65534, 65534) == 0);
        CHECK_THROWS_WITH_AS(append_history(root.paths(), entry(1)),
                             ("refusing " + (root / history).string() + ": owned by uid 65534, not by root").c_str(),
                             Error);
    }
}

TEST_CASE("a full disk is an error naming the file, and leaves the history readable")
{
    FakeRoot root;
    append_history(root.paths(), entry(1));
    const auto size = std::filesystem::file_size(root / history);
    const auto paths = root.paths();
    // RLIMIT_FSIZE makes a write past the limit fail (EFBIG) or stop short, as a full disk does.
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(pipe_fds[0]);
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{static_cast<rlim_t>(size + 10), static_cast<rlim_t>(size + 10)};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        std::string message = "no error";
        try {
            append_history(paths, entry(2));
        } catch (const Error& error) {
            message = error.what();
        }
        [[maybe_unused]] auto written = ::write(pipe_fds[1], message.data(), message.size());
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string message;
    char buffer[512];
    for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        message.append(buffer, static_cast<std::size_t>(got));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(message.find("cannot append to " + (root / history).string()) == 0);
    append_history(root.paths(), entry(3));
    const auto read = read_history(root.paths());
    REQUIRE(read.entries.size() == 2);
    CHECK(read.entries[0].time_us == 1);
    CHECK(read.entries[1].time_us == 3);
    CHECK(read.skipped_lines == 1);
}
