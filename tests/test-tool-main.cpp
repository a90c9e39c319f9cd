// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the one place where errors become messages and exit statuses, and of the fd guard.
#include "error.hpp"
#include "tool_main.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace kmodtools;

namespace {
int run_body(const std::function<ExitStatus(int, char**)>& body)
{
    char name[] = "kmod-test";
    char* argv[] = {name, nullptr};
    // Messages go to stderr; keep the test output clean.
    const int saved = ::dup(STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(null_fd, STDERR_FILENO);
    const int status = tool_main("kmod-test", "", 1, argv, body);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    ::close(null_fd);
    return status;
}
} // namespace

TEST_CASE("every error maps to its documented exit status")
{
    CHECK(run_body([](int, char**) { return ExitStatus::ok; }) == 0);
    CHECK(run_body([](int, char**) { return ExitStatus::failure; }) == 1);
    CHECK(run_body([](int, char**) -> ExitStatus { throw Error::usage("bad name"); }) == 2);
    CHECK(run_body([](int, char**) -> ExitStatus { throw Error::failure("refused"); }) == 1);
    CHECK(run_body([](int, char**) -> ExitStatus { throw Error::system(ENOSPC, "cannot write x"); }) == 1);
    CHECK(run_body([](int, char**) -> ExitStatus { throw Error(ExitStatus::ok, ""); }) == 0); // --help, --version
    CHECK(run_body([](int, char**) -> ExitStatus { throw std::bad_alloc(); }) == 1);
    CHECK(run_body([](int, char**) -> ExitStatus { throw std::runtime_error("bug"); }) == 1);
}

TEST_CASE("output that cannot be written is a failure, with a message")
{
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // A full disk: /dev/full answers every write with ENOSPC.
        const int full = ::open("/dev/full", O_WRONLY);
        if (full < 0)
            ::_exit(10);
        ::dup2(full, STDOUT_FILENO);
        ::dup2(pipe_fds[1], STDERR_FILENO);
        char name[] = "kmod-test";
        char* argv[] = {name, nullptr};
        const int status = tool_main("kmod-test", "", 1, argv, [](int, char**) {
            std::cout << "a report nobody will read\n";
            return ExitStatus::ok;
        });
        ::_exit(status);
    }
    ::close(pipe_fds[1]);
    std::string messages;
    char buffer[256];
    for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        messages.append(buffer, static_cast<std::size_t>(got));
    ::close(pipe_fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(messages == "kmod-test: cannot write to standard output: No space left on device\n");
}

TEST_CASE("Error::system names what failed and why")
{
    const auto error = Error::system(ENOSPC, "cannot save settings of 'lockd'");
    CHECK(std::string(error.what()) == "cannot save settings of 'lockd': No space left on device");
    CHECK(error.errnum() == ENOSPC);
    CHECK(error.status() == ExitStatus::failure);
}

TEST_CASE("closed standard fds are replaced by /dev/null before anything else is opened")
{
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(0);
        ::close(1);
        ::close(2);
        ensure_standard_fds();
        struct stat null_st {};
        if (::stat("/dev/null", &null_st) < 0)
            ::_exit(10);
        for (int fd = 0; fd <= 2; ++fd) {
            struct stat st {};
            if (::fstat(fd, &st) < 0 || st.st_rdev != null_st.st_rdev || !S_ISCHR(st.st_mode))
                ::_exit(11 + fd);
        }
        // The next file opened gets a number above the standard ones.
        const int next = ::open("/dev/null", O_RDONLY);
        ::_exit(next > 2 ? 0 : 20);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("open standard fds are left alone")
{
    struct stat before {};
    REQUIRE(::fstat(STDOUT_FILENO, &before) == 0);
    ensure_standard_fds();
    struct stat after {};
    REQUIRE(::fstat(STDOUT_FILENO, &after) == 0);
    CHECK(before.st_ino == after.st_ino);
    CHECK(before.st_dev == after.st_dev);
}

namespace {
// What tool_main prints on standard output for `argv` (in a child, so that stdout is its own), its
// exit status, and whether the body ran.
struct Outcome {
    std::string output;
    int status = -1;
    bool body_ran = false;
};

Outcome run_tool(std::vector<std::string> words)
{
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::close(pipe_fds[0]);
        std::vector<char*> argv;
        for (auto& word : words)
            argv.push_back(word.data());
        argv.push_back(nullptr);
        const int status = tool_main("kmod-test", "Usage: kmod-test [options]\n", static_cast<int>(words.size()),
                                     argv.data(), [](int, char**) {
                                         std::fputs("body\n", stdout);
                                         return ExitStatus::ok;
                                     });
        ::_exit(status);
    }
    ::close(pipe_fds[1]);
    Outcome outcome;
    char buffer[256];
    for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        outcome.output.append(buffer, static_cast<std::size_t>(got));
    ::close(pipe_fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    outcome.status = WEXITSTATUS(status);
    const auto body = outcome.output.find("body\n");
    outcome.body_ran = body != std::string::npos;
    if (outcome.body_ran)
        outcome.output.erase(body, 5);
    return outcome;
}
} // namespace

TEST_CASE("-h, --help, -V and --version alone are answered without running the body")
{
    for (const char* word : {"-h", "--help"}) {
        CAPTURE(word);
        const auto outcome = run_tool({"kmod-test", word});
        CHECK(outcome.status == 0);
        CHECK_FALSE(outcome.body_ran);
        CHECK(outcome.output == "Usage: kmod-test [options]\n");
    }
    for (const char* word : {"-V", "--version"}) {
        CAPTURE(word);
        const auto outcome = run_tool({"kmod-test", word});
        CHECK(outcome.status == 0);
        CHECK_FALSE(outcome.body_ran);
        CHECK(outcome.output == version_line("kmod-test") + "\n");
    }
    // Anything else, even a help flag among other words, is the body's (its parser's) to answer.
    for (const auto& words : std::vector<std::vector<std::string>>{
             {"kmod-test"}, {"kmod-test", "-q", "--version"}, {"kmod-test", "--", "-h"}, {"kmod-test", "-hq"}}) {
        const auto outcome = run_tool(words);
        CHECK(outcome.status == 0);
        CHECK(outcome.body_ran);
        CHECK(outcome.output.empty());
    }
}
