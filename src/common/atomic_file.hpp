// SPDX-License-Identifier: LGPL-2.1-or-later
// Replacing a file so that readers and crashes see either the old content or the new, never a mix.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>

namespace kmodtools {

// Writes `content` to a new temporary file in `dir_fd`, fsyncs it, renames it over `name` and fsyncs
// the directory. On any failure the temporary file is removed and the old file is left untouched.
// `path_for_errors` is the full path of `name`, for messages.
void replace_file_atomically(int dir_fd, std::string_view name, std::string_view content, mode_t mode,
                             const std::filesystem::path& path_for_errors);

// Same, for a path whose directory is opened (and created if missing) with open_owned_directory().
void replace_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode,
                             mode_t directory_mode = 0755);

} // namespace kmodtools
