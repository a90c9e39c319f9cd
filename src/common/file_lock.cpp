// SPDX-License-Identifier: LGPL-2.1-or-later
// flock(2)-based locks on files in directories kmod-tools owns.
#include "file_lock.hpp"

#include "error.hpp"
#include "owned_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cerrno>
#include <csignal>
#include <string>

namespace kmodtools {
namespace {

volatile std::sig_atomic_t lock_timed_out = 0;

extern "C" void on_lock_timeout(int)
{
    lock_timed_out = 1;
}

timeval to_timeval(std::chrono::microseconds duration)
{
    return {static_cast<time_t>(duration.count() / 1000000), static_cast<suseconds_t>(duration.count() % 1000000)};
}

} // namespace

std::optional<FileLock> FileLock::acquire(int dir_fd, std::string_view name, Kind kind, Wait wait,
                                          const std::filesystem::path& path_for_errors)
{
    const std::string file_name(name);
    constexpr int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    UniqueFd fd(::openat(dir_fd, file_name.c_str(), flags, 0600));
    // A directory, FIFO or socket in its place must not stop every later sweep: set it aside.
    struct stat st {};
    if ((!fd && (errno == EISDIR || errno == ENXIO)) || (fd && ::fstat(fd.get(), &st) == 0 && !S_ISREG(st.st_mode))) {
        fd.reset();
        set_aside(dir_fd, file_name, path_for_errors);
        fd.reset(::openat(dir_fd, file_name.c_str(), flags, 0600));
    }
    if (!fd) {
        if (errno == ELOOP)
            throw Error::failure("refusing lock file " + path_for_errors.string() + ": it is a symlink");
        throw Error::system(errno, "cannot open lock file " + path_for_errors.string());
    }
    check_owned(fd.get(), path_for_errors, false);

    int operation = kind == Kind::exclusive ? LOCK_EX : LOCK_SH;
    if (wait == Wait::no)
        operation |= LOCK_NB;
    while (::flock(fd.get(), operation) < 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK && wait == Wait::no)
            return std::nullopt;
        throw Error::system(errno, "cannot lock " + path_for_errors.string());
    }
    return FileLock(std::move(fd));
}

bool lock_within(int fd, int operation, std::chrono::milliseconds timeout, const std::filesystem::path& path)
{
    for (;;) {
        if (::flock(fd, operation | LOCK_NB) == 0)
            return true;
        if (errno == EWOULDBLOCK)
            break;
        if (errno != EINTR)
            throw Error::system(errno, "cannot lock " + path.string());
    }

    struct sigaction action {};
    struct sigaction previous_action {};
    action.sa_handler = on_lock_timeout;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; // no SA_RESTART: the blocked flock returns EINTR
    sigset_t alarm_only;
    sigset_t previous_mask;
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    // The timer fires again every 10 ms after the timeout, in case the first signal came just before
    // flock began to wait.
    itimerval timer{to_timeval(std::chrono::milliseconds(10)), to_timeval(timeout)};
    itimerval previous_timer{};
    const itimerval disarmed{};
    lock_timed_out = 0;
    ::sigaction(SIGALRM, &action, &previous_action);
    ::sigprocmask(SIG_UNBLOCK, &alarm_only, &previous_mask);
    ::setitimer(ITIMER_REAL, &timer, &previous_timer);
    int result;
    int saved_errno;
    do {
        result = ::flock(fd, operation);
        saved_errno = errno;
    } while (result < 0 && saved_errno == EINTR && !lock_timed_out);
    // A signal generated before the timer is disarmed is delivered when setitimer returns, to our
    // handler still: none is left pending for the previous one.
    ::setitimer(ITIMER_REAL, &disarmed, nullptr);
    ::sigaction(SIGALRM, &previous_action, nullptr);
    ::sigprocmask(SIG_SETMASK, &previous_mask, nullptr);
    if (previous_timer.it_value.tv_sec != 0 || previous_timer.it_value.tv_usec != 0)
        ::setitimer(ITIMER_REAL, &previous_timer, nullptr);
    if (result == 0)
        return true;
    if (saved_errno == EINTR)
        return false;
    throw Error::system(saved_errno, "cannot lock " + path.string());
}

} // namespace kmodtools
