// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading whole small files: /proc and /sys attributes (whose size reads as 0), config and state.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace kmodtools {

// Reads everything from fd until end of file; throws Error::system naming `name_for_errors`.
std::string read_all(int fd, const std::filesystem::path& name_for_errors);

// The most a state file of ours (a record, idle.json, saved settings) holds; the largest real one is
// a few KiB. Anything bigger was not written by kmod-tools, and is refused rather than read into
// memory by every run.
inline constexpr std::size_t max_state_file_size = 1024 * 1024;

// Like read_all, but throws Error::failure naming the file once it holds more than `max_size` bytes.
std::string read_all(int fd, const std::filesystem::path& name_for_errors, std::size_t max_size);

// The whole file; throws Error naming the path on any failure.
std::string read_text_file(const std::filesystem::path& path);

// Like read_text_file, but a file that does not exist (ENOENT, ENOTDIR) gives std::nullopt:
// a module can vanish between listing it and reading its attributes.
std::optional<std::string> read_text_file_if_exists(const std::filesystem::path& path);

// Write the whole buffer to an already open fd (handles short writes and EINTR).
void write_all(int fd, std::string_view data, const std::filesystem::path& name_for_errors);

} // namespace kmodtools
