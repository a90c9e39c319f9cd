// SPDX-License-Identifier: LGPL-2.1-or-later
// capture_stderr(body): what `body` wrote to standard error, for tests of messages.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

#include <doctest/doctest.h>

namespace kmodtools::testing {

// Runs `body` with stderr redirected to a temporary file and returns what was written.
template <typename Body>
std::string capture_stderr(Body body)
{
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    const int saved = ::dup(STDERR_FILENO);
    ::dup2(::fileno(file), STDERR_FILENO);
    body();
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::string text;
    std::rewind(file);
    for (int c; (c = std::fgetc(file)) != EOF;)
        text.push_back(static_cast<char>(c));
    std::fclose(file);
    return text;
}

} // namespace kmodtools::testing
