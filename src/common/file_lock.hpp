// SPDX-License-Identifier: LGPL-2.1-or-later
// flock(2)-based locks on files in directories kmod-tools owns.
#pragma once

#include "unique_fd.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string_view>

namespace kmodtools {

class FileLock {
public:
    enum class Wait { yes, no };
    enum class Kind { exclusive, shared };

    // Locks the file `name` in `dir_fd` (creating it, never through a symlink). With Wait::no,
    // std::nullopt means another process holds a conflicting lock.
    static std::optional<FileLock> acquire(int dir_fd, std::string_view name, Kind kind, Wait wait,
                                           const std::filesystem::path& path_for_errors);

    // The lock goes with the descriptor: closing it (destruction) unlocks.
    FileLock(FileLock&&) noexcept = default;
    FileLock& operator=(FileLock&&) noexcept = default;

private:
    explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

// flock(fd, operation) (LOCK_EX or LOCK_SH) waiting at most `timeout`: false when it timed out.
// The wait blocks in flock, woken as soon as the lock is free, and is cut short by an interval
// timer (ITIMER_REAL, SIGALRM without SA_RESTART, as util-linux's flock -w does): for a
// single-threaded tool that uses no timer of its own; the previous handler, mask and timer are put
// back. Throws Error for any other failure.
bool lock_within(int fd, int operation, std::chrono::milliseconds timeout, const std::filesystem::path& path);

} // namespace kmodtools
