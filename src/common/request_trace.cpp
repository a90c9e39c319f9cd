// SPDX-License-Identifier: LGPL-2.1-or-later
// kmod-tools' own tracefs instance for module:module_request.
#include "request_trace.hpp"

#include "error.hpp"
#include "owned_file.hpp"
#include "request_event_journal.hpp"
#include "request_name.hpp"
#include "text_file.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <functional>
#include <initializer_list>

namespace kmodtools {
namespace {

constexpr long tracefs_magic = 0x74726163; // include/uapi/linux/magic.h
constexpr std::string_view wanted_event = "module:module_request";

struct Tracefs {
    UniqueFd fd;
    std::filesystem::path path;
};

bool on_tracefs(int fd, const Paths& paths)
{
    // A fake tree has no tracefs to ask; the tools are redirected only by tests.
    if (paths.redirected())
        return true;
    struct statfs fs {};
    return ::fstatfs(fd, &fs) == 0 && fs.f_type == tracefs_magic;
}

// tracefs where it is mounted, else where debugfs automounts it. The mount point of an unmounted
// tracefs is an empty sysfs directory; a fake tree marks a "mounted" one by its instances/.
std::optional<Tracefs> open_tracefs(const Paths& paths, std::string& problem)
{
    problem = "tracefs is not mounted on " + paths.tracefs_dir().string() + " (nor reachable as " +
              paths.debugfs_tracing_dir().string() + ")";
    for (const auto& candidate : {paths.tracefs_dir(), paths.debugfs_tracing_dir()}) {
        UniqueFd fd(::open(candidate.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) {
            // tracefs is root-only (0700): not being root must not read as "not mounted".
            if (errno == EACCES || errno == EPERM)
                problem = "cannot open " + candidate.string() + ": " + errno_text(errno);
            continue;
        }
        if (paths.redirected()) {
            struct stat st {};
            if (::fstatat(fd.get(), "instances", &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
                continue;
        } else if (!on_tracefs(fd.get(), paths)) {
            continue;
        }
        check_owned(fd.get(), candidate, true);
        return Tracefs{std::move(fd), candidate};
    }
    return std::nullopt;
}

UniqueFd open_subdirectory(int dir_fd, const std::filesystem::path& name, const std::filesystem::path& path,
                           const Paths& paths)
{
    UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        struct stat st {};
        if ((errno == ELOOP || errno == ENOTDIR) && ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
            throw Error::failure("refusing " + path.string() +
                                 (S_ISLNK(st.st_mode) ? ": it is a symlink" : ": not a directory"));
        return fd;
    }
    if (!on_tracefs(fd.get(), paths))
        throw Error::failure("refusing " + path.string() + ": not on tracefs");
    check_owned(fd.get(), path, true);
    return fd;
}

// A tracefs attribute without its trailing newline.
std::string read_attribute(int dir_fd, const std::filesystem::path& dir, const char* name)
{
    UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd)
        throw Error::system(errno, "cannot open " + (dir / name).string());
    std::string value = read_all(fd.get(), dir / name);
    while (!value.empty() && (value.back() == '\n' || value.back() == ' '))
        value.pop_back();
    return value;
}

void write_attribute(int dir_fd, const std::filesystem::path& dir, const char* name, std::string_view value)
{
    // O_TRUNC as a shell's '>' would: for set_event it also disables every other event.
    UniqueFd fd(::openat(dir_fd, name, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC));
    if (!fd)
        throw Error::system(errno, "cannot open " + (dir / name).string());
    write_all(fd.get(), value, dir / name);
}

// "[local] global counter uptime perf mono mono_raw boot tai x86-tsc" -> "local"
std::string selected_clock(std::string_view clocks)
{
    const auto open = clocks.find('[');
    const auto close = clocks.find(']', open);
    if (open == std::string_view::npos || close == std::string_view::npos)
        return std::string(clocks);
    return std::string(clocks.substr(open + 1, close - open - 1));
}

// What differs from the settings attribution relies on (see the header), or an empty string.
std::string configuration_problem(int fd, const std::filesystem::path& dir, bool check_buffer_size)
{
    struct Expected {
        const char* name;
        std::string_view value;
    };
    for (const Expected& expected :
         {Expected{"set_event", wanted_event}, Expected{"set_event_pid", ""}, Expected{"tracing_on", "1"}}) {
        const auto value = read_attribute(fd, dir, expected.name);
        if (value != expected.value)
            return std::string(expected.name) + " is " + quote_name(value) + ", not " + quote_name(expected.value);
    }
    // One read for the three options: trace_options lists every option as NAME or noNAME.
    const auto options = "\n" + read_attribute(fd, dir, "trace_options") + "\n";
    struct Option {
        std::string_view name;
        bool on;
    };
    for (const Option& option :
         {Option{"overwrite", true}, Option{"pause-on-trace", false}, Option{"markers", false}}) {
        const std::string wanted = "\n" + std::string(option.on ? "" : "no") + std::string(option.name) + "\n";
        if (options.find(wanted) == std::string::npos)
            return "option " + std::string(option.name) + " is not " + (option.on ? "on" : "off") + " in trace_options";
    }
    const auto clock = selected_clock(read_attribute(fd, dir, "trace_clock"));
    if (clock != "boot")
        return "trace_clock is " + quote_name(clock) + ", not 'boot'";
    if (check_buffer_size) {
        // "16", or "1410 (expanded: 1408)" before a never-used buffer is allocated.
        const auto size = read_attribute(fd, dir, "buffer_size_kb");
        unsigned kb = 0;
        const auto result = std::from_chars(size.data(), size.data() + size.size(), kb);
        // The kernel rounds up to whole sub-buffers of 4080 bytes: 16 reads back as 19.
        if (result.ec != std::errc() || kb < request_trace_buffer_kb || kb >= request_trace_buffer_kb + 4 ||
            size.find('(') != std::string::npos)
            return "buffer_size_kb is " + quote_name(size) + ", not '" + std::to_string(request_trace_buffer_kb) + "'";
    }
    return {};
}

struct Instance {
    Tracefs tracefs;
    UniqueFd instances;
    UniqueFd fd; // invalid when the instance does not exist
    std::filesystem::path dir;
};

// The instance's directory, or a status saying why there is none.
std::optional<Instance> open_instance(const Paths& paths, TraceStatus& status)
{
    std::string problem;
    auto tracefs = open_tracefs(paths, problem);
    if (!tracefs) {
        status = {TraceState::no_tracefs, std::move(problem), {}};
        return std::nullopt;
    }
    const auto instances_path = tracefs->path / "instances";
    auto instances = open_subdirectory(tracefs->fd.get(), "instances", instances_path, paths);
    if (!instances) {
        if (errno != ENOENT)
            throw Error::system(errno, "cannot open " + instances_path.string());
        status = {
            TraceState::no_tracefs, "no " + instances_path.string() + ": this kernel has no tracing instances", {}};
        return std::nullopt;
    }
    const auto dir = instances_path / std::string(request_trace_instance);
    auto fd = open_subdirectory(instances.get(), std::string(request_trace_instance), dir, paths);
    if (!fd && errno != ENOENT)
        throw Error::system(errno, "cannot open " + dir.string());
    return Instance{std::move(*tracefs), std::move(instances), std::move(fd), dir};
}

std::uint64_t boottime_now_ns()
{
    timespec now{};
    ::clock_gettime(CLOCK_BOOTTIME, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000000 + static_cast<std::uint64_t>(now.tv_nsec);
}

std::function<UniqueFd()> pipe_opener(const Instance& instance, const std::filesystem::path& pipe_path)
{
    return [&instance, &pipe_path]() {
        UniqueFd pipe(::openat(instance.fd.get(), "trace_pipe", O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
        if (!pipe)
            throw Error::system(errno, "cannot open " + pipe_path.string());
        return pipe;
    };
}

// The settings and the events of an existing instance (drained from trace_pipe into the journal).
TraceSnapshot inspect(const Paths& paths, const Instance& instance, bool check_buffer_size)
{
    TraceSnapshot snapshot;
    snapshot.status.instance_dir = instance.dir;
    if (auto problem = configuration_problem(instance.fd.get(), instance.dir, check_buffer_size); !problem.empty()) {
        snapshot.status.state = TraceState::misconfigured;
        snapshot.status.problem = std::move(problem);
        return snapshot;
    }
    const auto pipe_path = instance.dir / "trace_pipe";
    const auto journal = drain_request_events(paths, pipe_opener(instance, pipe_path), pipe_path, boottime_now_ns);
    snapshot.trace = parse_module_request_trace(journal.events);
    snapshot.trace.cut_short = journal.cut_short;
    snapshot.trace.gap_until_ns = journal.gap_until_ns;
    snapshot.generation = journal.generation;
    if (!snapshot.trace.recording_since_ns) {
        snapshot.status.state = TraceState::misconfigured;
        snapshot.status.problem = "the instance was not set up by kmod-tools (no start marker in its events)";
        snapshot.trace = {};
        return snapshot;
    }
    snapshot.status.state = TraceState::ready;
    return snapshot;
}

TraceSnapshot read_snapshot(const Paths& paths, bool check_buffer_size)
{
    TraceSnapshot snapshot;
    auto instance = open_instance(paths, snapshot.status);
    if (!instance)
        return snapshot;
    if (!instance->fd) {
        snapshot.status = {TraceState::absent, instance->dir.string() + " does not exist", instance->dir};
        return snapshot;
    }
    return inspect(paths, *instance, check_buffer_size);
}

// rmdir fails with EBUSY while a reader (another helper) has a file of the instance open.
bool remove_instance(int instances_fd, const std::filesystem::path& dir)
{
    const std::string name(request_trace_instance);
    for (int attempt = 0;; ++attempt) {
        if (::unlinkat(instances_fd, name.c_str(), AT_REMOVEDIR) == 0)
            return true;
        if (errno == ENOENT)
            return false;
        if (errno != EBUSY || attempt == 100)
            throw Error::system(errno, "cannot remove " + dir.string());
        const timespec pause{0, 10'000'000};
        ::nanosleep(&pause, nullptr);
    }
}

// Configures a new instance (or one a concurrent set-up is configuring the same way) as attribution
// needs it, then starts recording.
TraceStatus configure_instance(const Paths& paths, Instance& instance)
{
    instance.fd = open_subdirectory(instance.instances.get(), std::string(request_trace_instance), instance.dir, paths);
    if (!instance.fd)
        throw Error::system(errno, "cannot open " + instance.dir.string());
    const int fd = instance.fd.get();
    const auto& dir = instance.dir;
    // Enabling an event lets the kernel expand the global instance's boot-time buffer, as any
    // tracing user does; resizing ours first would instead pin the global one at its boot size
    // (ring_buffer_expanded is global). The clock and the size reset our buffer, so they come
    // before recording starts.
    write_attribute(fd, dir, "set_event", wanted_event);
    write_attribute(fd, dir, "tracing_on", "0");
    write_attribute(fd, dir, "trace_clock", "boot");
    write_attribute(fd, dir, "buffer_size_kb", std::to_string(request_trace_buffer_kb));
    write_attribute(fd, dir, "options/overwrite", "1");
    write_attribute(fd, dir, "options/pause-on-trace", "0");
    write_attribute(fd, dir, "set_event_pid", "");
    write_attribute(fd, dir, "tracing_on", "1");
    // From here on every request is recorded; the marker says since when, then markers go off.
    write_attribute(fd, dir, "trace_marker", recording_marker);
    write_attribute(fd, dir, "options/markers", "0");
    const auto result = inspect(paths, instance, true);
    if (result.status.state != TraceState::ready)
        throw Error::failure("set up " + dir.string() + ", but " + result.status.problem);
    return result.status;
}

} // namespace

std::string_view to_string(TraceState state)
{
    switch (state) {
    case TraceState::ready:
        return "ready";
    case TraceState::no_tracefs:
        return "no tracefs";
    case TraceState::absent:
        return "absent";
    case TraceState::misconfigured:
        break;
    }
    return "misconfigured";
}

TraceStatus check_request_trace(const Paths& paths)
{
    return read_snapshot(paths, true).status;
}

TraceSnapshot read_request_trace(const Paths& paths)
{
    return read_snapshot(paths, false);
}

TraceStatus set_up_request_trace(const Paths& paths)
{
    TraceStatus status;
    auto instance = open_instance(paths, status);
    if (!instance)
        throw Error::failure("cannot set up request tracing: " + status.problem);
    if (instance->fd) {
        const auto existing = inspect(paths, *instance, true);
        if (existing.status.state == TraceState::ready)
            return existing.status;
        instance->fd.reset();
        remove_instance(instance->instances.get(), instance->dir);
    }
    // Before the instance exists, so that no helper drains its events into the old journal.
    reset_request_events(paths);
    const std::string name(request_trace_instance);
    // The mode is tracefs' own choice (0750 for instances); EEXIST: a concurrent set-up made it first
    // and configures it the same way.
    const bool created = ::mkdirat(instance->instances.get(), name.c_str(), 0700) == 0;
    if (!created && errno != EEXIST)
        throw Error::system(errno, "cannot create " + instance->dir.string());
    try {
        return configure_instance(paths, *instance);
    } catch (const Error& error) {
        // A half-configured instance (recording with another clock, say) is worse than none: every
        // helper would open it only to find it unusable. What this set-up created goes again.
        if (!created)
            throw;
        instance->fd.reset();
        try {
            remove_instance(instance->instances.get(), instance->dir);
        } catch (const Error& remove_error) {
            throw Error(error.status(),
                        std::string(error.what()) + "; could not remove it again: " + remove_error.what(),
                        error.errnum());
        }
        throw;
    }
}

bool remove_request_trace(const Paths& paths)
{
    TraceStatus status;
    auto instance = open_instance(paths, status);
    if (!instance || !instance->fd)
        return false;
    instance->fd.reset();
    const bool removed = remove_instance(instance->instances.get(), instance->dir);
    reset_request_events(paths);
    return removed;
}

std::optional<std::uint64_t> request_trace_generation(const Paths& paths)
{
    TraceStatus status;
    auto instance = open_instance(paths, status);
    if (!instance || !instance->fd)
        return std::nullopt;
    const auto pipe_path = instance->dir / "trace_pipe";
    return drain_request_events(paths, pipe_opener(*instance, pipe_path), pipe_path, boottime_now_ns, false)
        .generation;
}

} // namespace kmodtools
