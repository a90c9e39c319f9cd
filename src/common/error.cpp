// SPDX-License-Identifier: LGPL-2.1-or-later
// The one error type of kmod-tools.
#include "error.hpp"

#include <cstring>

namespace kmodtools {

std::string errno_text(int errnum)
{
    char buffer[256];
    // GNU strerror_r returns a pointer that may or may not be into buffer.
    return ::strerror_r(errnum, buffer, sizeof buffer);
}

Error Error::system(int errnum, const std::string& what)
{
    return {ExitStatus::failure, what + ": " + errno_text(errnum), errnum};
}

} // namespace kmodtools
