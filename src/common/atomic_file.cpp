// SPDX-License-Identifier: LGPL-2.1-or-later
// Replacing a file atomically: temporary file, fsync, rename, fsync of the directory.
#include "atomic_file.hpp"

#include "error.hpp"
#include "owned_file.hpp"
#include "text_file.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>

namespace kmodtools {
namespace {

std::string temporary_name(std::string_view name, int attempt)
{
    static std::atomic<unsigned> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    // Dot-prefixed so directory scans that skip hidden files never pick up a half-written file.
    return "." + std::string(name) + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
           std::to_string(now % 1000000) + "-" + std::to_string(attempt);
}

} // namespace

void replace_file_atomically(int dir_fd, std::string_view name, std::string_view content, mode_t mode,
                             const std::filesystem::path& path_for_errors)
{
    if (name.empty() || name.find('/') != std::string_view::npos)
        throw Error::failure("invalid file name '" + std::string(name) + "'");

    std::string temp_name;
    UniqueFd fd;
    for (int attempt = 0; !fd; ++attempt) {
        temp_name = temporary_name(name, attempt);
        // O_EXCL|O_NOFOLLOW: never write through something planted under our temporary name.
        fd.reset(::openat(dir_fd, temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
        if (!fd && (errno != EEXIST || attempt > 100))
            throw Error::system(errno, "cannot create a temporary file for " + path_for_errors.string());
    }

    try {
        // The umask may have taken bits away; state files must have exactly the mode asked for.
        if (::fchmod(fd.get(), mode) < 0)
            throw Error::system(errno, "cannot set the mode of " + path_for_errors.string());
        write_all(fd.get(), content, path_for_errors);
        if (::fsync(fd.get()) < 0)
            throw Error::system(errno, "cannot write " + path_for_errors.string());
        fd.reset();
        const std::string final_name(name);
        if (::renameat(dir_fd, temp_name.c_str(), dir_fd, final_name.c_str()) < 0)
            throw Error::system(errno, "cannot replace " + path_for_errors.string());
    } catch (...) {
        ::unlinkat(dir_fd, temp_name.c_str(), 0);
        throw;
    }
    // Without this the rename itself may be lost on a crash even though the data reached the disk.
    if (::fsync(dir_fd) < 0 && errno != EINVAL)
        throw Error::system(errno, "cannot sync the directory of " + path_for_errors.string());
}

void replace_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode,
                             mode_t directory_mode)
{
    const auto dir = open_owned_directory(path.parent_path(), directory_mode);
    replace_file_atomically(dir.get(), path.filename().string(), content, mode, path);
}

} // namespace kmodtools
