// SPDX-License-Identifier: LGPL-2.1-or-later
// Mapping errors to messages and exit statuses, in one place.
#include "tool_main.hpp"

#include "error.hpp"
#include "log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <new>

namespace kmodtools {

void parse_command_line(CLI::App& app, int argc, char** argv)
{
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        throw Error(ExitStatus::ok, "");
    } catch (const CLI::CallForAllHelp&) {
        std::cout << app.help("", CLI::AppFormatMode::All);
        throw Error(ExitStatus::ok, "");
    } catch (const CLI::CallForVersion&) {
        std::cout << app.get_name() << " " << KMOD_TOOLS_VERSION << "\n";
        throw Error(ExitStatus::ok, "");
    } catch (const CLI::ParseError& error) {
        throw Error::usage(std::string(error.what()) + " (see --help)");
    }
}

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

int tool_main(std::string_view program_name, int argc, char** argv,
              const std::function<int(int argc, char** argv)>& body)
{
    ensure_standard_fds();
    log::setup(program_name, log::Target::stderr_stream);
    try {
        return body(argc, argv);
    } catch (const Error& error) {
        if (error.status() != ExitStatus::ok)
            log::error(error.what());
        return static_cast<int>(error.status());
    } catch (const CLI::ParseError& error) {
        log::error(std::string(error.what()) + " (see --help)");
        return static_cast<int>(ExitStatus::usage);
    } catch (const std::bad_alloc&) {
        log::error("out of memory");
    } catch (const std::exception& error) {
        log::error(std::string("internal error: ") + error.what());
    }
    return static_cast<int>(ExitStatus::failure);
}

} // namespace kmodtools
