// SPDX-License-Identifier: LGPL-2.1-or-later
// Mapping errors to messages and exit statuses, in one place.
#include "tool_main.hpp"

#include "error.hpp"
#include "log.hpp"
#include "request_name.hpp"
#include "standard_streams.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <new>
#include <optional>

namespace kmodtools {

std::string version_line(std::string_view program_name)
{
    return std::string(program_name) + " from kmod-tools " + KMOD_TOOLS_VERSION;
}

void print_help(std::string_view help) { print(help); }

void print_version(std::string_view program_name) { print_help(version_line(program_name) + "\n"); }

void ensure_standard_fds()
{
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        const int null_fd = ::open("/dev/null", O_RDWR | O_NOCTTY);
        if (null_fd < 0)
            ::_exit(static_cast<int>(ExitStatus::failure));
        if (null_fd != fd) { // fds below it are open, so open() returned fd itself unless this is the case
            ::dup2(null_fd, fd);
            ::close(null_fd);
        }
    }
}

namespace {

ExitStatus run_body(int argc, char** argv, const std::function<ExitStatus(int argc, char** argv)>& body)
{
    try {
        return body(argc, argv);
    } catch (const Error& error) {
        if (error.status() != ExitStatus::ok)
            log::error(error.what());
        return error.status();
    } catch (const std::bad_alloc&) {
        log::error("out of memory");
    } catch (const std::exception& error) {
        log::error(std::string("internal error: ") + error.what());
    }
    return ExitStatus::failure;
}

// -h, --help, -V or --version as the only argument: printed at once (what CLI11 would print).
std::optional<ExitStatus> answer_alone(std::string_view program_name, std::string_view help, std::string_view word)
{
    if (word == "-h" || word == "--help")
        print_help(help);
    else if (word == "-V" || word == "--version")
        print_version(program_name);
    else
        return std::nullopt;
    return ExitStatus::ok;
}

// As util-linux's close_stdout(): a report that did not reach its reader is a failed run.
bool report_arrived()
{
    if (flush_standard_output())
        return true;
    log::error(std::string("cannot write to standard output") + (errno != 0 ? ": " + errno_text(errno) : ""));
    return false;
}

} // namespace

int tool_main(std::string_view program_name, std::string_view help, int argc, char** argv,
              const std::function<ExitStatus(int argc, char** argv)>& body)
{
    ensure_standard_fds();
    log::setup(program_name, log::Target::stderr_stream);
    const auto answer = argc == 2 ? answer_alone(program_name, help, argv[1]) : std::nullopt;
    const ExitStatus status = answer ? *answer : run_body(argc, argv, body);
    // As util-linux's errtryhelp(), for people at a terminal, not for the kernel log.
    if (status == ExitStatus::usage && log::target() == log::Target::stderr_stream)
        std::fprintf(stderr, "Try '%.*s --help'.\n", static_cast<int>(program_name.size()), program_name.data());
    if (!report_arrived() && status == ExitStatus::ok)
        return static_cast<int>(ExitStatus::failure);
    return static_cast<int>(status);
}

} // namespace kmodtools
