// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading whole small files.
#include "text_file.hpp"

#include "error.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace kmodtools {

std::string read_all(int fd, const std::filesystem::path& name_for_errors, std::size_t max_size)
{
    std::string content;
    char buffer[8192];
    for (;;) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            throw Error::system(errno, "cannot read " + name_for_errors.string());
        }
        if (got == 0)
            return content;
        content.append(buffer, static_cast<std::size_t>(got));
        if (content.size() > max_size)
            throw Error::failure("refusing " + name_for_errors.string() + ": larger than " +
                                 std::to_string(max_size) + " bytes");
    }
}

std::string read_all(int fd, const std::filesystem::path& name_for_errors)
{
    return read_all(fd, name_for_errors, std::string().max_size());
}

std::optional<std::string> read_text_file_if_exists(const std::filesystem::path& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        if (errno == ENOENT || errno == ENOTDIR)
            return std::nullopt;
        throw Error::system(errno, "cannot open " + path.string());
    }
    try {
        return read_all(fd.get(), path);
    } catch (const Error& error) {
        // sysfs answers ENODEV once the module behind an attribute is gone.
        if (error.errnum() == ENODEV || error.errnum() == ENOENT)
            return std::nullopt;
        throw;
    }
}

std::string read_text_file(const std::filesystem::path& path)
{
    auto content = read_text_file_if_exists(path);
    if (!content)
        throw Error::system(ENOENT, "cannot open " + path.string());
    return *content;
}

void write_all(int fd, std::string_view data, const std::filesystem::path& name_for_errors)
{
    while (!data.empty()) {
        const ssize_t written = ::write(fd, data.data(), data.size());
        if (written < 0) {
            if (errno == EINTR)
                continue;
            throw Error::system(errno, "cannot write " + name_for_errors.string());
        }
        data.remove_prefix(static_cast<std::size_t>(written));
    }
}

} // namespace kmodtools
