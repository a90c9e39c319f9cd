// SPDX-License-Identifier: LGPL-2.1-or-later
// Replacing a file so that readers and crashes see either the old content or the new, never a mix.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>

namespace kmodtools {

// What to do when a directory stands where the file should go: fail (what the admin's files get),
// or set it aside (owned_file.hpp) so that state kmod-tools owns recovers by itself.
enum class InTheWay { fail, set_aside };

// Writes `content` to a new temporary file in `dir_fd`, fsyncs it, renames it over `name` and fsyncs
// the directory. On any failure the temporary file is removed and the old file is left untouched.
// `path_for_errors` is the full path of `name`, for messages.
void replace_file_atomically(int dir_fd, std::string_view name, std::string_view content, mode_t mode,
                             const std::filesystem::path& path_for_errors, InTheWay in_the_way = InTheWay::fail);

// Same, for a path whose directory is opened (and created if missing) with open_owned_directory().
void replace_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode,
                             mode_t directory_mode = 0755, InTheWay in_the_way = InTheWay::fail);

// Removes the temporary files of writers that were killed between creating and renaming them
// (their process is gone, or the file is from before this boot: a crash); a live writer's are
// left alone. Returns how many were removed.
int remove_abandoned_temporaries(int dir_fd, const std::filesystem::path& path_for_errors);

} // namespace kmodtools
