// SPDX-License-Identifier: LGPL-2.1-or-later
// The kernel's module knobs under /proc/sys/kernel.
#include "kernel_knobs.hpp"

#include "error.hpp"
#include "text_file.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>

#include <cerrno>

namespace kmodtools {
namespace {

std::string read_knob(const std::filesystem::path& path)
{
    auto value = read_text_file_if_exists(path);
    if (!value)
        throw Error::failure("the kernel has no module support (" + path.string() + " does not exist)");
    if (!value->empty() && value->back() == '\n')
        value->pop_back();
    return *value;
}

} // namespace

std::string read_modprobe_helper(const Paths& paths) { return read_knob(paths.sysctl_modprobe()); }

void write_modprobe_helper(const Paths& paths, std::string_view helper)
{
    const auto path = paths.sysctl_modprobe();
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        const int errnum = errno;
        if (errnum == ENOENT)
            throw Error::failure("the kernel has no module support (" + path.string() + " does not exist)");
        if (errnum == EACCES || errnum == EPERM)
            throw Error::system(errnum, "cannot set kernel.modprobe (needs root)");
        if (errnum == EROFS)
            throw Error::system(errnum, "cannot set kernel.modprobe (" + path.string() +
                                            " is read-only here, as in most containers)");
        throw Error::system(errnum, "cannot open " + path.string());
    }
    // O_TRUNC matters only for fake trees (procfs ignores it; procps sysctl opens with it too).
    // The newline ends the string for proc_dostring(); it also makes "" a real write of the empty value.
    write_all(fd.get(), std::string(helper) + "\n", path);
    fd.reset();
    if (read_modprobe_helper(paths) != helper)
        throw Error::failure("the kernel did not take kernel.modprobe = '" + std::string(helper) + "'");
}

bool read_modules_disabled(const Paths& paths)
{
    const auto value = read_knob(paths.sysctl_modules_disabled());
    if (value == "0")
        return false;
    if (value == "1")
        return true;
    throw Error::failure("unexpected value '" + value + "' in " + paths.sysctl_modules_disabled().string());
}

} // namespace kmodtools
