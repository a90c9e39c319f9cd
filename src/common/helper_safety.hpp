// SPDX-License-Identifier: LGPL-2.1-or-later
// Rules for a program the kernel may run as root: the modprobe helper named in kernel.modprobe.
//
// The kernel runs that program with full privileges whenever anything asks for a module, and any
// user can make it ask (open a socket of an unloaded family). A helper, or any directory on the
// way to it, that someone other than root could change is a root shell for that someone.
#pragma once

#include "paths.hpp"

#include <sys/types.h>

#include <string>
#include <string_view>

namespace kmodtools {

// The kernel keeps kernel.modprobe in a 256-byte buffer (KMOD_PATH_LEN) and silently truncates.
inline constexpr std::size_t max_helper_path_length = 255;

// Why `helper` (a path of the system under `paths.root()`) is not safe as the modprobe helper, or an
// empty string if it is. Symlinks are resolved under the root, checking every directory passed
// through and every symlink followed. `trusted_owner` is root except in tests run by other users.
std::string helper_path_problem(const Paths& paths, std::string_view helper, uid_t trusted_owner = 0);

} // namespace kmodtools
