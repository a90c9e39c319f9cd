// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading the task that asked the kernel for a module from /proc, and classifying it.
#include "requester_info.hpp"

#include "error.hpp"
#include "request_name.hpp"
#include "text_file.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <vector>

namespace kmodtools {
namespace {

constexpr unsigned long pf_kthread = 0x00200000; // include/linux/sched.h
// The frames of a task blocked in request_module(): call_modprobe() is inlined into __request_module().
constexpr std::string_view umh_wait_frame = "call_usermodehelper_exec";
constexpr std::string_view request_module_frame = "__request_module";

// A /proc file of a task that may exit at any moment: std::nullopt when it is gone.
std::optional<std::string> read_task_file(const std::filesystem::path& path)
{
    try {
        return read_text_file_if_exists(path);
    } catch (const Error& error) {
        if (error.errnum() == ESRCH)
            return std::nullopt;
        throw;
    }
}

std::vector<std::string_view> split_words(std::string_view text)
{
    std::vector<std::string_view> words;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto start = text.find_first_not_of(" \t\n", pos);
        if (start == std::string_view::npos)
            break;
        const auto end = std::min(text.find_first_of(" \t\n", start), text.size());
        words.push_back(text.substr(start, end - start));
        pos = end;
    }
    return words;
}

template <typename Number> std::optional<Number> parse_number(std::string_view text, int base = 10)
{
    Number value{};
    const auto result = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (result.ec != std::errc() || result.ptr != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

struct StatFields {
    std::string comm;
    unsigned long flags = 0;
    std::uint64_t start_ticks = 0;
};

// "PID (COMM) STATE PPID ... FLAGS(9) ... STARTTIME(22) ...": COMM may hold anything, even ") ",
// so the fields are counted from the last ')'.
std::optional<StatFields> parse_stat(std::string_view stat)
{
    const auto open = stat.find('(');
    const auto close = stat.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open)
        return std::nullopt;
    StatFields fields;
    fields.comm = std::string(stat.substr(open + 1, close - open - 1));
    const auto words = split_words(stat.substr(close + 1));
    // words[0] is field 3 (state).
    if (words.size() < 20)
        return std::nullopt;
    const auto flags = parse_number<unsigned long>(words[6]);
    const auto start = parse_number<std::uint64_t>(words[19]);
    if (!flags || !start)
        return std::nullopt;
    fields.flags = *flags;
    fields.start_ticks = *start;
    return fields;
}

// The value after "KEY:" in /proc/PID/status.
std::optional<std::string_view> status_value(std::string_view status, std::string_view key)
{
    std::size_t pos = 0;
    while (pos < status.size()) {
        const auto end = std::min(status.find('\n', pos), status.size());
        const auto line = status.substr(pos, end - pos);
        if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':')
            return line.substr(key.size() + 1);
        pos = end + 1;
    }
    return std::nullopt;
}

std::optional<std::string> read_link(const std::filesystem::path& path)
{
    std::array<char, 256> target{};
    const ssize_t length = ::readlink(path.c_str(), target.data(), target.size());
    if (length < 0 || static_cast<std::size_t>(length) >= target.size())
        return std::nullopt;
    return std::string(target.data(), static_cast<std::size_t>(length));
}

// "0::/user.slice/..." is the cgroup v2 line; v1 hierarchies have their own numbered lines.
std::string cgroup_v2_path(std::string_view cgroup)
{
    std::size_t pos = 0;
    while (pos < cgroup.size()) {
        const auto end = std::min(cgroup.find('\n', pos), cgroup.size());
        const auto line = cgroup.substr(pos, end - pos);
        if (line.substr(0, 3) == "0::")
            return std::string(line.substr(3));
        pos = end + 1;
    }
    return {};
}

// "[<0>] call_usermodehelper_exec+0x14a/0x1a0" -> "call_usermodehelper_exec"
std::string_view frame_function(std::string_view line)
{
    const auto space = line.find(' ');
    if (space != std::string_view::npos)
        line.remove_prefix(space + 1);
    return line.substr(0, std::min(line.find('+'), line.size()));
}

// The top frames show the task blocked in call_usermodehelper_exec() on behalf of __request_module()
// (other helpers, such as request-key or a core-dump pipe, wait in the same function).
bool stack_waits_for_module(std::string_view stack)
{
    std::vector<std::string_view> frames;
    std::size_t pos = 0;
    while (pos < stack.size() && frames.size() < 4) {
        const auto end = std::min(stack.find('\n', pos), stack.size());
        frames.push_back(frame_function(stack.substr(pos, end - pos)));
        pos = end + 1;
    }
    for (std::size_t i = 0; i + 1 < frames.size(); ++i)
        if (frames[i] == umh_wait_frame)
            return frames[i + 1] == request_module_frame ||
                   (i + 2 < frames.size() && frames[i + 2] == request_module_frame);
    return false;
}

RequesterInfo::Waiting read_waiting(const std::filesystem::path& task)
{
    // /proc/PID/stack needs CAP_SYS_ADMIN; wchan names only the innermost function.
    try {
        if (const auto stack = read_task_file(task / "stack"))
            return stack_waits_for_module(*stack) ? RequesterInfo::Waiting::yes : RequesterInfo::Waiting::no;
    } catch (const Error&) {
    }
    try {
        if (const auto wchan = read_task_file(task / "wchan")) {
            std::string_view function(*wchan);
            if (!function.empty() && function.back() == '\n')
                function.remove_suffix(1);
            return function == umh_wait_frame ? RequesterInfo::Waiting::yes : RequesterInfo::Waiting::no;
        }
    } catch (const Error&) {
    }
    return RequesterInfo::Waiting::unknown;
}

std::string namespace_inode(std::string_view link)
{
    // "user:[4026532119]"
    const auto open = link.find('[');
    if (open == std::string_view::npos || link.back() != ']')
        return {};
    const auto number = link.substr(open + 1, link.size() - open - 2);
    return parse_number<std::uint64_t>(number) ? std::string(number) : std::string();
}

} // namespace

namespace {
std::uint64_t ticks_to_ns(std::uint64_t ticks)
{
    const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    return ticks * (1000000000 / static_cast<std::uint64_t>(ticks_per_second > 0 ? ticks_per_second : 100));
}
} // namespace

std::optional<std::uint64_t> task_start_ns(const Paths& paths, pid_t pid)
{
    const auto stat = read_task_file(paths.proc_dir() / std::to_string(pid) / "stat");
    const auto fields = stat ? parse_stat(*stat) : std::nullopt;
    if (!fields)
        return std::nullopt;
    return ticks_to_ns(fields->start_ticks);
}

std::optional<RequesterInfo> read_requester_info(const Paths& paths, pid_t pid)
{
    if (pid <= 0)
        return std::nullopt;
    const auto task = paths.proc_dir() / std::to_string(pid);
    const auto first_stat = read_task_file(task / "stat");
    if (!first_stat)
        return std::nullopt;
    const auto stat = parse_stat(*first_stat);
    if (!stat)
        throw Error::failure("cannot parse " + (task / "stat").string());

    RequesterInfo info;
    info.pid = pid;
    info.comm = stat->comm;
    info.kernel_thread = (stat->flags & pf_kthread) != 0;
    info.start_ns = ticks_to_ns(stat->start_ticks);

    const auto status = read_task_file(task / "status");
    if (!status)
        return std::nullopt;
    const auto uids = status_value(*status, "Uid");
    const auto cap_effective = status_value(*status, "CapEff");
    const auto uid_words = uids ? split_words(*uids) : std::vector<std::string_view>{};
    const auto cap_words = cap_effective ? split_words(*cap_effective) : std::vector<std::string_view>{};
    const auto uid = uid_words.size() >= 2 ? parse_number<uid_t>(uid_words[0]) : std::nullopt;
    const auto euid = uid_words.size() >= 2 ? parse_number<uid_t>(uid_words[1]) : std::nullopt;
    const auto caps = cap_words.size() == 1 ? parse_number<std::uint64_t>(cap_words[0], 16) : std::nullopt;
    if (!uid || !euid || !caps)
        throw Error::failure("cannot parse the Uid or CapEff line of " + (task / "status").string());
    info.uid = *uid;
    info.euid = *euid;
    info.cap_effective = *caps;

    const auto user_ns = read_link(task / "ns/user");
    const auto init_user_ns = read_link(paths.proc_dir() / "1/ns/user");
    if (user_ns && init_user_ns) {
        info.initial_user_namespace = *user_ns == *init_user_ns;
        info.user_namespace = *user_ns;
    }
    if (const auto cgroup = read_task_file(task / "cgroup"))
        info.cgroup = cgroup_v2_path(*cgroup);

    // Last: a task still blocked now was blocked all along (its credentials cannot change meanwhile)...
    info.waiting_for_module = read_waiting(task);
    // ...and the same start time means the pid was not reused while we read.
    const auto last_stat = read_task_file(task / "stat");
    const auto again = last_stat ? parse_stat(*last_stat) : std::nullopt;
    if (!again || again->start_ticks != stat->start_ticks)
        return std::nullopt;
    return info;
}

RequesterClass classify(const RequesterInfo& info)
{
    if (!info.initial_user_namespace)
        return RequesterClass::unknown;
    if (!*info.initial_user_namespace)
        return RequesterClass::container;
    return info.has_cap_sys_module() ? RequesterClass::privileged : RequesterClass::unprivileged;
}

std::string describe(const RequesterInfo& info)
{
    std::string text = "pid " + std::to_string(info.pid) + " (" + quote_name(info.comm);
    if (info.kernel_thread)
        text += ", kernel thread";
    text += ", uid " + std::to_string(info.uid);
    if (info.euid != info.uid)
        text += ", euid " + std::to_string(info.euid);
    // Capabilities count in the task's own user namespace: in another one, CAP_SYS_MODULE is not
    // the host's, and must not read as if it were.
    const bool own_namespace_only = info.initial_user_namespace != true;
    text += !info.has_cap_sys_module() ? ", no CAP_SYS_MODULE"
            : own_namespace_only       ? ", CAP_SYS_MODULE in its user namespace only"
                                       : ", CAP_SYS_MODULE";
    if (!info.initial_user_namespace) {
        text += ", user namespace unknown";
    } else if (!*info.initial_user_namespace) {
        const auto inode = namespace_inode(info.user_namespace);
        text += ", user namespace " + (inode.empty() ? std::string("not the initial one") : inode);
    }
    if (!info.cgroup.empty())
        text += ", cgroup " + quote_name(info.cgroup);
    return text + ")";
}

} // namespace kmodtools
