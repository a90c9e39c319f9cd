// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of standard input and output through stdio: lines read as written, a failed write reported.
#include "standard_streams.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace kmodtools;

namespace {

// The lines of `input` as read_standard_input_line() returns them, with standard input on a file
// holding `input`.
std::vector<std::string> lines_of(const std::string& input)
{
    char path[] = "/tmp/kmod-tools-test-stdin.XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, input.data(), input.size()) == static_cast<ssize_t>(input.size()));
    ::close(fd);
    REQUIRE(std::freopen(path, "r", stdin) != nullptr);
    ::unlink(path);
    std::vector<std::string> lines;
    for (std::string line; read_standard_input_line(line);)
        lines.push_back(line);
    return lines;
}

// The exit status of a child that prints `text` with standard output on `device`, then exits 0 if
// flush_standard_output() says it all arrived, 1 if not.
int child_printing_to(const char* device, const std::string& text)
{
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (std::freopen(device, "w", stdout) == nullptr)
            ::_exit(2);
        print(text);
        ::_exit(flush_standard_output() ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
}

} // namespace

TEST_CASE("lines of standard input: without their newline, a last line without one too")
{
    CHECK(lines_of("fs-xfs\n\nnet-pf-5\r\nlast") == std::vector<std::string>{"fs-xfs", "", "net-pf-5\r", "last"});
    CHECK(lines_of("") == std::vector<std::string>{});
    CHECK(lines_of("\n") == std::vector<std::string>{""});
    // A NUL byte is part of the line, as the kernel's or a user's bytes may hold one.
    CHECK(lines_of(std::string("a\0b\n", 4)) == std::vector<std::string>{std::string("a\0b", 3)});
}

TEST_CASE("a report that cannot be written is a failure, one that can is not")
{
    CHECK(child_printing_to("/dev/null", "modprobe = /sbin/kmod-request\n") == 0);
    CHECK(child_printing_to("/dev/full", "modprobe = /sbin/kmod-request\n") == 1);
}
