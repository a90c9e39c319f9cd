// SPDX-License-Identifier: LGPL-2.1-or-later
// Opening the directories and files kmod-tools owns without following symlinks or trusting others' files.
//
// Root reads and writes its state under /run and /var/lib. A symlink planted there, or a file another
// user can write, would let that user steer what root writes or which modules it unloads; so every
// owned path is opened with O_NOFOLLOW relative to a checked directory, and refused unless it is of
// the right type, owned by root or by the user running us, and not writable by group or others.
#pragma once

#include "unique_fd.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace kmodtools {

// Opens the directory `path`, creating it (and missing parents) with `create_mode` if it does not exist.
// Refuses a symlink, a non-directory, an owner other than root or us, or group/other write permission.
UniqueFd open_owned_directory(const std::filesystem::path& path, mode_t create_mode);

// Like open_owned_directory but never creates: std::nullopt when the directory does not exist.
std::optional<UniqueFd> open_owned_directory_if_exists(const std::filesystem::path& path);

// Opens the regular file `name` in `dir_fd` for reading, or std::nullopt if it does not exist.
// Refuses a symlink, a non-regular file, a foreign owner, or group/other write permission.
std::optional<UniqueFd> open_owned_file(int dir_fd, std::string_view name, const std::filesystem::path& path_for_errors);

// Moves the entry `name` of `dir_fd` out of the way, to a hidden name that readers skip
// (".NAME.set-aside-TIME-PID"), with a one-line warning: state that a directory or other non-file
// took the place of, or that cannot be trusted, must not wedge every later run. `why` says what was
// wrong with it (default: not a regular file). Returns the new name.
std::string set_aside(int dir_fd, std::string_view name, const std::filesystem::path& path_for_errors,
                      std::string_view why = {});

// Checks an open file or directory against the ownership rules above; throws Error naming `path`.
void check_owned(int fd, const std::filesystem::path& path, bool want_directory);

} // namespace kmodtools
