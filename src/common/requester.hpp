// SPDX-License-Identifier: LGPL-2.1-or-later
// Telling a request from the kernel (request_module()) from one made by a person or program.
#pragma once

#include "paths.hpp"

#include <sys/types.h>

namespace kmodtools {

// The kernel starts its module helper from a kernel worker thread (call_usermodehelper), so the
// helper's parent is a kernel thread (PF_KTHREAD in /proc/PID/stat). No user process can be that.
bool is_kernel_thread(const Paths& paths, pid_t pid);

} // namespace kmodtools
