// SPDX-License-Identifier: LGPL-2.1-or-later
// flock(2)-based locks on files in directories kmod-tools owns.
#include "file_lock.hpp"

#include "error.hpp"
#include "owned_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>

namespace kmodtools {

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

} // namespace kmodtools
