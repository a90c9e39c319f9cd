// SPDX-License-Identifier: LGPL-2.1-or-later
// Opening the directories and files kmod-tools owns without following symlinks.
#include "owned_file.hpp"

#include "error.hpp"
#include "log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <string>

namespace kmodtools {
namespace {

std::string describe_type(mode_t mode)
{
    if (S_ISLNK(mode))
        return "a symlink";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISREG(mode))
        return "a regular file";
    return "a special file";
}

// O_NOFOLLOW makes open() fail with ELOOP on a symlink, or, with O_DIRECTORY, ENOTDIR; say what was found.
[[noreturn]] void throw_open_error(int errnum, const std::filesystem::path& path)
{
    struct stat st {};
    if ((errnum == ELOOP || errnum == ENOTDIR) && ::lstat(path.c_str(), &st) == 0)
        throw Error::failure("refusing " + path.string() + ": it is " + describe_type(st.st_mode));
    throw Error::system(errnum, "cannot open " + path.string());
}

} // namespace

void check_owned(int fd, const std::filesystem::path& path, bool want_directory)
{
    struct stat st {};
    if (::fstat(fd, &st) < 0)
        throw Error::system(errno, "cannot stat " + path.string());
    const bool type_ok = want_directory ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
    if (!type_ok)
        throw Error::failure("refusing " + path.string() + ": it is " + describe_type(st.st_mode) + ", not " +
                             (want_directory ? "a directory" : "a regular file"));
    // Root's files are trustworthy for everyone; anyone else's only for that user themself.
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        throw Error::failure("refusing " + path.string() + ": owned by uid " + std::to_string(st.st_uid) +
                             ", not by root" + (::geteuid() != 0 ? " or uid " + std::to_string(::geteuid()) : ""));
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        throw Error::failure("refusing " + path.string() + ": writable by group or others");
}

std::string set_aside(int dir_fd, std::string_view name, const std::filesystem::path& path_for_errors,
                      std::string_view why)
{
    const std::string from(name);
    const std::string to = "." + from + ".set-aside-" + std::to_string(std::time(nullptr)) + "-" +
                           std::to_string(::getpid());
    if (::renameat(dir_fd, from.c_str(), dir_fd, to.c_str()) < 0)
        throw Error::system(errno, "cannot move " + path_for_errors.string() + " out of the way");
    if (why.empty())
        log::warning(path_for_errors.string() + " was not a regular file; moved it out of the way to " +
                     (path_for_errors.parent_path() / to).string());
    else
        log::warning(std::string(why) + "; moved it out of the way to " + (path_for_errors.parent_path() / to).string());
    return to;
}

std::optional<UniqueFd> open_owned_directory_if_exists(const std::filesystem::path& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return std::nullopt;
        throw_open_error(errno, path);
    }
    check_owned(fd.get(), path, true);
    return fd;
}

UniqueFd open_owned_directory(const std::filesystem::path& path, mode_t create_mode)
{
    if (auto fd = open_owned_directory_if_exists(path))
        return std::move(*fd);
    // Parents that already exist are the system's (/run, /var/lib, /etc) and are not ours to judge;
    // the ones we create get the same mode as the directory itself.
    const auto parent = path.parent_path();
    if (!parent.empty() && parent != path && ::access(parent.c_str(), F_OK) != 0)
        open_owned_directory(parent, create_mode);
    const bool created = ::mkdir(path.c_str(), create_mode) == 0;
    if (!created && errno != EEXIST)
        throw Error::system(errno, "cannot create directory " + path.string());
    // The umask must not decide who may read /etc/sysctl.d or the state directories.
    if (created && ::chmod(path.c_str(), create_mode) < 0)
        throw Error::system(errno, "cannot set the mode of " + path.string());
    auto fd = open_owned_directory_if_exists(path);
    if (!fd)
        throw Error::system(ENOENT, "cannot open " + path.string());
    return std::move(*fd);
}

std::optional<UniqueFd> open_owned_file(int dir_fd, std::string_view name, const std::filesystem::path& path_for_errors)
{
    const std::string file_name(name);
    UniqueFd fd(::openat(dir_fd, file_name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        if (errno == ENOENT)
            return std::nullopt;
        if (errno == ELOOP)
            throw Error::failure("refusing " + path_for_errors.string() + ": it is a symlink");
        throw Error::system(errno, "cannot open " + path_for_errors.string());
    }
    check_owned(fd.get(), path_for_errors, false);
    return fd;
}

} // namespace kmodtools
