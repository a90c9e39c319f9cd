// SPDX-License-Identifier: LGPL-2.1-or-later
// Standard input and output of every tool, through stdio.
#include "standard_streams.hpp"

#include "error.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace kmodtools {

void print(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); }

bool read_standard_input_line(std::string& line)
{
    char* buffer = nullptr;
    std::size_t capacity = 0;
    errno = 0;
    const ssize_t length = ::getline(&buffer, &capacity, stdin);
    const int read_errno = errno;
    if (length >= 0)
        line.assign(buffer, static_cast<std::size_t>(length) - (length > 0 && buffer[length - 1] == '\n' ? 1 : 0));
    std::free(buffer);
    if (length >= 0)
        return true;
    if (std::ferror(stdin))
        throw Error::system(read_errno, "cannot read standard input");
    return false;
}

bool flush_standard_output()
{
    errno = 0;
    return std::fflush(stdout) == 0 && std::ferror(stdout) == 0;
}

} // namespace kmodtools
