// SPDX-License-Identifier: LGPL-2.1-or-later
// vm-whoasked: the guest half of tests/vm/scenarios/trace.sh, exercising requester attribution and the
// request history of src/common on the real kernel before kmod-request uses them.
//   vm-whoasked --setup | --remove | --check     kmod-tools' trace instance (prints its state)
//   vm-whoasked --log FILE ARG... NAME           as the kernel's helper (through a wrapper script that
//                                                then execs modprobe): attributes NAME, appends one line
//                                                to FILE and an entry to the request history
//   vm-whoasked --comm COMM --socket FAMILY [N]  sets its comm to COMM (any bytes), then opens a socket
//                                                (N times)
//   vm-whoasked --bench RUNS NAME                times attribute_request() in process, prints medians
//   vm-whoasked --history                        prints the history's entries and skipped lines
//   whoasked-then-kmod-request ARG... NAME       (as argv[0], the kernel's helper) attributes NAME,
//                                                records it, then execs kmod-request; and
//   whoasked-plain-kmod-request ARG...           the same exec without them: the cost A/B
// The log line is "request=… kind=… class=… pid=… uid=… comm=… attribution_us=… history_us=… from …",
// every user-controlled byte escaped as the audit lines will be.
#include "error.hpp"
#include "paths.hpp"
#include "request_attribution.hpp"
#include "request_history.hpp"
#include "request_name.hpp"
#include "request_trace.hpp"
#include "requester_info.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using namespace kmodtools;

namespace {

[[noreturn]] void usage()
{
    std::fprintf(stderr, "usage: vm-whoasked --setup | --remove | --check | --history | --log FILE ARG... NAME |\n"
                         "                   --comm COMM --socket FAMILY [COUNT] | --bench RUNS NAME\n");
    std::exit(2);
}

std::int64_t now_us(clockid_t clock)
{
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

std::string_view kind_name(AttributionKind kind)
{
    switch (kind) {
    case AttributionKind::attributed:
        return "attributed";
    case AttributionKind::ambiguous:
        return "ambiguous";
    case AttributionKind::unknown:
        break;
    }
    return "unknown";
}

void print_status(const TraceStatus& status)
{
    std::printf("%s%s%s\n", std::string(to_string(status.state)).c_str(), status.problem.empty() ? "" : ": ",
                status.problem.c_str());
}

// One O_APPEND write per line, so that 30 helpers at once never mix their lines.
void append_line(const char* file, const std::string& line)
{
    const int fd = ::open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error::system(errno, std::string("cannot open ") + file);
    const auto written = ::write(fd, line.data(), line.size());
    ::close(fd);
    if (written != static_cast<ssize_t>(line.size()))
        throw Error::system(errno, std::string("cannot write ") + file);
}

int helper(const char* log_file, std::string_view name)
{
    const auto paths = Paths::from_environment();
    const auto start = now_us(CLOCK_MONOTONIC);
    const auto attribution = attribute_request(paths, name);
    const auto attributed = now_us(CLOCK_MONOTONIC);
    HistoryEntry entry;
    entry.time_us = now_us(CLOCK_REALTIME);
    entry.name = std::string(name);
    entry.decision = "granted";
    entry.requester_class = attribution.requester_class;
    entry.requester = attribution.describe();
    std::string history_error;
    try {
        append_history(paths, entry);
    } catch (const Error& error) {
        history_error = error.what();
    }
    const auto recorded = now_us(CLOCK_MONOTONIC);
    std::string line = "request=" + quote_name(name) + " kind=" + std::string(kind_name(attribution.kind)) +
                       " class=" + std::string(to_string(attribution.requester_class));
    if (attribution.kind == AttributionKind::attributed) {
        const auto& who = attribution.candidates.front();
        line += " pid=" + std::to_string(who.pid) + " uid=" + std::to_string(who.uid) + " comm=" + quote_name(who.comm);
        // From the requester's event to the kernel's start of this helper: what attribution_slack_ns covers.
        if (const auto started = task_start_ns(paths, ::getpid()))
            line += " start_delay_ms=" + std::to_string(static_cast<std::int64_t>(*started / 1000000) -
                                                        static_cast<std::int64_t>(attribution.event_ns / 1000000));
    } else {
        line += " pid=- uid=- comm=-";
    }
    line += " attribution_us=" + std::to_string(attributed - start) +
            " history_us=" + std::to_string(recorded - attributed);
    if (!history_error.empty())
        line += " history_error=" + quote_name(history_error);
    line += " from " + attribution.describe() + "\n";
    append_line(log_file, line);
    return 0;
}

int bench(long runs, std::string_view name)
{
    const auto paths = Paths::from_environment();
    std::vector<std::int64_t> attribution;
    std::vector<std::int64_t> header;
    std::vector<std::int64_t> history;
    std::string kind;
    for (long run = 0; run < runs; ++run) {
        const auto start = now_us(CLOCK_MONOTONIC);
        const auto result = attribute_request(paths, name);
        const auto attributed = now_us(CLOCK_MONOTONIC);
        // What the re-check after reading /proc costs (attribute_request does it when it found candidates).
        [[maybe_unused]] const auto again = request_trace_generation(paths);
        const auto headed = now_us(CLOCK_MONOTONIC);
        HistoryEntry entry;
        entry.time_us = now_us(CLOCK_REALTIME);
        entry.name = "bench-" + std::string(name);
        entry.decision = "granted";
        entry.requester = result.describe();
        append_history(paths, entry);
        history.push_back(now_us(CLOCK_MONOTONIC) - headed);
        attribution.push_back(attributed - start);
        header.push_back(headed - attributed);
        kind = std::string(kind_name(result.kind)) + "/" + std::string(to_string(result.reason));
    }
    // Under TCG on a shared host the minimum is the figure least disturbed by others; both are shown.
    const auto figures = [](std::vector<std::int64_t> values) {
        std::sort(values.begin(), values.end());
        return std::to_string(values.front()) + "/" + std::to_string(values[values.size() / 2]);
    };
    const auto snapshot = read_request_trace(paths);
    std::printf("runs=%ld events=%zu min/median: attribution_us=%s recheck_us=%s history_us=%s result=%s\n", runs,
                snapshot.trace.events.size(), figures(attribution).c_str(), figures(header).c_str(),
                figures(history).c_str(), kind.c_str());
    return 0;
}

// Installed under these names (symlinks) as kernel.modprobe, for the cost A/B of trace.sh: the same
// extra exec either way, with or without attribution and history before kmod-request takes over.
constexpr std::string_view attributing_name = "whoasked-then-kmod-request";
constexpr std::string_view plain_name = "whoasked-plain-kmod-request";
constexpr const char* kmod_request = "/usr/sbin/kmod-request";

int exec_kmod_request(char** argv)
{
    argv[0] = const_cast<char*>(kmod_request);
    ::execv(kmod_request, argv);
    return 127;
}

int run(int argc, char** argv)
{
    const std::string_view invoked = std::strrchr(argv[0], '/') ? std::strrchr(argv[0], '/') + 1 : argv[0];
    if (invoked == plain_name)
        return exec_kmod_request(argv);
    if (invoked == attributing_name) {
        const auto paths = Paths::from_environment();
        const std::string_view name = argc > 1 ? argv[argc - 1] : "";
        const auto attribution = attribute_request(paths, name);
        HistoryEntry entry;
        entry.time_us = now_us(CLOCK_REALTIME);
        entry.name = std::string(name);
        entry.decision = "granted";
        entry.requester_class = attribution.requester_class;
        entry.requester = attribution.describe();
        try {
            append_history(paths, entry);
        } catch (const Error&) {
        }
        return exec_kmod_request(argv);
    }
    if (argc < 2)
        usage();
    const std::string_view mode = argv[1];
    const auto paths = Paths::from_environment();
    if (mode == "--setup" && argc == 2) {
        print_status(set_up_request_trace(paths));
        return 0;
    }
    if (mode == "--remove" && argc == 2) {
        std::printf("%s\n", remove_request_trace(paths) ? "removed" : "absent");
        return 0;
    }
    if (mode == "--check" && argc == 2) {
        const auto status = check_request_trace(paths);
        print_status(status);
        return status.state == TraceState::ready ? 0 : 1;
    }
    if (mode == "--history" && argc == 2) {
        const auto history = read_history(paths);
        for (const auto& entry : history.entries)
            std::printf("%s %s %s\n", quote_name(entry.name).c_str(),
                        std::string(to_string(entry.requester_class)).c_str(), quote_name(entry.requester).c_str());
        std::printf("entries=%zu skipped=%zu\n", history.entries.size(), history.skipped_lines);
        return 0;
    }
    if (mode == "--log" && argc >= 4)
        return helper(argv[2], argv[argc - 1]);
    if (mode == "--comm" && (argc == 5 || argc == 6) && std::string_view(argv[3]) == "--socket") {
        ::prctl(PR_SET_NAME, argv[2], 0, 0, 0);
        // A family without a module makes the kernel ask its helper again on every socket().
        const long count = argc == 6 ? std::strtol(argv[5], nullptr, 10) : 1;
        for (long i = 0; i < count; ++i) {
            const int fd = ::socket(std::atoi(argv[4]), SOCK_DGRAM, 0);
            if (fd >= 0)
                ::close(fd);
        }
        return 0;
    }
    if (mode == "--bench" && argc == 4) {
        const long runs = std::strtol(argv[2], nullptr, 10);
        if (runs < 1)
            usage();
        return bench(runs, argv[3]);
    }
    usage();
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const Error& error) {
        std::fprintf(stderr, "vm-whoasked: %s\n", error.what());
        return 1;
    }
}
