// SPDX-License-Identifier: LGPL-2.1-or-later
// Rules for the modprobe helper path.
#include "helper_safety.hpp"

#include "trusted_path.hpp"

namespace kmodtools {
namespace {

// Logs quote the helper and state files record it: a name that is not text has no business here.
bool is_valid_utf8(std::string_view text)
{
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        const std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (length == 0 || i + length > text.size())
            return false;
        for (std::size_t k = 1; k < length; ++k)
            if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80)
                return false;
        // Overlong forms and surrogates are not UTF-8 either.
        const auto second = static_cast<unsigned char>(length > 1 ? text[i + 1] : 0);
        if ((length == 2 && c < 0xc2) || (length == 3 && c == 0xe0 && second < 0xa0) ||
            (length == 3 && c == 0xed && second >= 0xa0) || (length == 4 && c == 0xf0 && second < 0x90) ||
            (length == 4 && (c > 0xf4 || (c == 0xf4 && second >= 0x90))))
            return false;
        i += length;
    }
    return true;
}

} // namespace

std::string helper_path_problem(const Paths& paths, std::string_view helper, uid_t trusted_owner)
{
    if (helper.empty())
        return "empty path";
    if (helper.size() > max_helper_path_length)
        return "longer than " + std::to_string(max_helper_path_length) + " bytes, the kernel would truncate it";
    for (unsigned char c : helper)
        if (c < 0x20 || c == 0x7f)
            return "contains a control character";
    if (!is_valid_utf8(helper))
        return "not valid UTF-8";
    if (helper.front() != '/')
        return "not an absolute path";
    // The kernel cannot execute a path that names a directory; say so before anything is looked up.
    if (helper.back() == '/')
        return "ends with '/' (a directory, not a program)";
    return judge_path(paths, helper, TrustedKind::executable, trusted_owner).problem;
}

} // namespace kmodtools
