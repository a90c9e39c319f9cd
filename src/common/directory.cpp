// SPDX-License-Identifier: LGPL-2.1-or-later
// Listing directories.
#include "directory.hpp"

#include "error.hpp"
#include "unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace kmodtools {
namespace {

std::vector<std::string> read_entries(UniqueDir dir, const std::filesystem::path& path_for_errors)
{
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(dir.get())) {
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..")
            names.emplace_back(name);
    }
    // sysfs answers ENOENT for a directory removed while it was being read: what was read stands.
    if (errno != 0 && errno != ENOENT)
        throw Error::system(errno, "cannot read directory " + path_for_errors.string());
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace

std::vector<std::string> list_directory(int dir_fd, const std::filesystem::path& path_for_errors)
{
    // fdopendir takes the descriptor over; give it its own so the caller's stays usable for openat.
    UniqueFd own(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
    if (!own)
        throw Error::system(errno, "cannot read directory " + path_for_errors.string());
    // Another reader of a duplicated descriptor may have moved the shared offset.
    ::lseek(own.get(), 0, SEEK_SET);
    UniqueDir dir(::fdopendir(own.get()));
    if (!dir)
        throw Error::system(errno, "cannot read directory " + path_for_errors.string());
    [[maybe_unused]] const int owned_by_dir = own.release();
    return read_entries(std::move(dir), path_for_errors);
}

std::optional<std::vector<std::string>> list_directory_if_exists(const std::filesystem::path& path)
{
    UniqueDir dir(::opendir(path.c_str()));
    if (!dir) {
        if (errno == ENOENT || errno == ENOTDIR)
            return std::nullopt;
        throw Error::system(errno, "cannot read directory " + path.string());
    }
    return read_entries(std::move(dir), path);
}

} // namespace kmodtools
