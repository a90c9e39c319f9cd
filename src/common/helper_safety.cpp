// SPDX-License-Identifier: LGPL-2.1-or-later
// Rules for the modprobe helper path.
#include "helper_safety.hpp"

#include "trusted_path.hpp"

namespace kmodtools {
std::string helper_path_problem(const Paths& paths, std::string_view helper, uid_t trusted_owner)
{
    if (helper.empty())
        return "empty path";
    if (helper.size() > max_helper_path_length)
        return "longer than " + std::to_string(max_helper_path_length) + " bytes, the kernel would truncate it";
    for (unsigned char c : helper)
        if (c < 0x20 || c == 0x7f)
            return "contains a control character";
    if (helper.front() != '/')
        return "not an absolute path";
    // The kernel cannot execute a path that names a directory; say so before anything is looked up.
    if (helper.back() == '/')
        return "ends with '/' (a directory, not a program)";
    return judge_path(paths, helper, TrustedKind::executable, trusted_owner).problem;
}

} // namespace kmodtools
