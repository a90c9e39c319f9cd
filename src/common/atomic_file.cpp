// SPDX-License-Identifier: LGPL-2.1-or-later
// Replacing a file atomically: temporary file, fsync, rename, fsync of the directory.
#include "atomic_file.hpp"

#include "directory.hpp"
#include "error.hpp"
#include "owned_file.hpp"
#include "text_file.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <charconv>

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
                             const std::filesystem::path& path_for_errors, InTheWay in_the_way)
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
        int renamed = ::renameat(dir_fd, temp_name.c_str(), dir_fd, final_name.c_str());
        if (renamed < 0 && errno == EISDIR && in_the_way == InTheWay::set_aside) {
            set_aside(dir_fd, final_name, path_for_errors);
            renamed = ::renameat(dir_fd, temp_name.c_str(), dir_fd, final_name.c_str());
        }
        if (renamed < 0)
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
                             mode_t directory_mode, InTheWay in_the_way)
{
    const auto dir = open_owned_directory(path.parent_path(), directory_mode);
    replace_file_atomically(dir.get(), path.filename().string(), content, mode, path, in_the_way);
}

namespace {

// Whether DIR_FD/NAME was last written before this boot began. Process ids start again at every
// boot, so a temporary file that outlived a crash may carry the id of a process alive now; its
// age is what tells it apart. A second of slack covers the two clock readings; a clock stepped
// after the file was written could only make a file of this boot look newer, never older, unless
// it was stepped forwards within the milliseconds a writer holds its temporary.
bool written_before_this_boot(int dir_fd, const std::string& name)
{
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return false;
    timespec now {};
    timespec since_boot {};
    if (::clock_gettime(CLOCK_REALTIME, &now) != 0 || ::clock_gettime(CLOCK_BOOTTIME, &since_boot) != 0)
        return false;
    const auto boot_began = now.tv_sec - since_boot.tv_sec;
    return st.st_mtim.tv_sec < boot_began - 1;
}

} // namespace

int remove_abandoned_temporaries(int dir_fd, const std::filesystem::path& path_for_errors)
{
    int removed = 0;
    for (const auto& name : list_directory(dir_fd, path_for_errors)) {
        // ".NAME.tmp-PID-COUNTER-TIME-ATTEMPT", as temporary_name() makes them.
        const auto marker = name.rfind(".tmp-");
        if (name.front() != '.' || marker == std::string::npos)
            continue;
        const auto pid_text = name.substr(marker + 5, name.find('-', marker + 5) - (marker + 5));
        pid_t pid = 0;
        const auto parsed = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
        if (parsed.ec != std::errc() || parsed.ptr != pid_text.data() + pid_text.size() || pid <= 0)
            continue;
        // A writer still alive (or not ours to ask) may yet rename it, unless it is from an earlier boot.
        if ((::kill(pid, 0) == 0 || errno != ESRCH) && !written_before_this_boot(dir_fd, name))
            continue;
        if (::unlinkat(dir_fd, name.c_str(), 0) == 0)
            ++removed;
        else if (errno != ENOENT)
            throw Error::system(errno, "cannot remove " + (path_for_errors / name).string());
    }
    return removed;
}

} // namespace kmodtools
