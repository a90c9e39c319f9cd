// SPDX-License-Identifier: LGPL-2.1-or-later
// Listing a directory's entries, the one way every reader of /sys and of our state directories does it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kmodtools {

// Entry names of the directory open as `dir_fd` (which stays open and usable), without "." and
// "..", sorted. Throws Error naming `path_for_errors` if it cannot be read.
std::vector<std::string> list_directory(int dir_fd, const std::filesystem::path& path_for_errors);

// Entry names of the directory `path`, sorted; std::nullopt if it does not exist (a module can
// vanish while its sysfs directory is read).
std::optional<std::vector<std::string>> list_directory_if_exists(const std::filesystem::path& path);

} // namespace kmodtools
