// SPDX-License-Identifier: LGPL-2.1-or-later
// The one error type of kmod-tools: what failed, why, and which exit status that means.
#pragma once

#include <stdexcept>
#include <string>

namespace kmodtools {

// Documented exit statuses of every tool (see the man pages, EXIT STATUS).
enum class ExitStatus : int {
    ok = 0,
    failure = 1, // the request could not be carried out, or was refused
    usage = 2,   // the command line was wrong
};

class Error : public std::runtime_error {
public:
    Error(ExitStatus status, const std::string& message, int errnum = 0)
        : std::runtime_error(message), status_(status), errnum_(errnum) {}

    // A wrong command line: unknown option, unknown name, malformed value.
    static Error usage(const std::string& message) { return {ExitStatus::usage, message}; }
    // A well-formed request that failed or was refused.
    static Error failure(const std::string& message) { return {ExitStatus::failure, message}; }
    // A failed system call: "what: strerror(errnum)".
    static Error system(int errnum, const std::string& what);

    ExitStatus status() const noexcept { return status_; }
    int errnum() const noexcept { return errnum_; }

private:
    ExitStatus status_;
    int errnum_;
};

// strerror() that is safe to call from several threads.
std::string errno_text(int errnum);

} // namespace kmodtools
