// SPDX-License-Identifier: LGPL-2.1-or-later
// vm-time [-n RUNS] [-w WARMUP] [-q] [-i] [-r] [--] COMMAND [ARG...]: runs COMMAND RUNS times (after
// WARMUP uncounted runs) and prints "runs=N total_us=T median_us=M min_us=A max_us=B failed=F" on one line.
// The VM benchmark needs this because busybox's `time` only resolves 10 ms, which is the same order as
// the operations it compares; CLOCK_MONOTONIC around fork..waitpid resolves microseconds and is immune
// to clock steps. Only the child's lifetime is measured, not the shell that starts vm-time.
//   -q  send COMMAND's stdout and stderr to /dev/null (so its messages cannot mix with the result line)
//   -i  ignore COMMAND's exit status (e.g. a mount that fails after making the kernel load a module);
//       otherwise a run that fails is counted in failed= and vm-time exits 1.
//   -r  also print the medians of the child's resource usage (wait4): user and system CPU time and
//       minor page faults, to tell where a difference in wall time goes (under TCG a page fault or a
//       syscall is far dearer than on hardware), and the largest peak RSS of any run. Appended as
//       user_us= sys_us= minflt= maxrss_kb=. The kernel counts the child's peak before exec too,
//       when it was a copy of vm-time, so a figure at vm-time's own (run /bin/true) is a floor.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void usage()
{
    std::fprintf(stderr, "usage: vm-time [-n RUNS] [-w WARMUP] [-q] [-i] [-r] [--] COMMAND [ARG...]\n");
    std::exit(2);
}

long parse_count(const char* text, long minimum)
{
    char* end = nullptr;
    errno = 0;
    const long value = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < minimum || value > 100000)
        usage();
    return value;
}

std::int64_t now_us()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// One run: its wall time in microseconds, whether it exited 0, and what the child used.
struct Sample {
    std::int64_t us = 0;
    bool ok = false;
    std::int64_t user_us = 0;
    std::int64_t sys_us = 0;
    std::int64_t minflt = 0;
    std::int64_t maxrss_kb = 0;
};

std::int64_t to_us(const timeval& tv) { return static_cast<std::int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec; }

// The median of a sample (the mean of the middle two for an even count); sorts its argument.
std::int64_t median(std::vector<std::int64_t>& values)
{
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

Sample run_once(char** command, bool quiet)
{
    const std::int64_t start = now_us();
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("vm-time: fork");
        std::exit(1);
    }
    if (pid == 0) {
        if (quiet) {
            const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (null_fd >= 0) {
                ::dup2(null_fd, STDOUT_FILENO);
                ::dup2(null_fd, STDERR_FILENO);
            }
        }
        ::execvp(command[0], command);
        // stderr may be /dev/null by now; the exit status still tells the parent.
        std::fprintf(stderr, "vm-time: cannot run %s: %s\n", command[0], std::strerror(errno));
        ::_exit(127);
    }
    int status = 0;
    rusage usage{};
    while (::wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            std::perror("vm-time: wait4");
            std::exit(1);
        }
    }
    const std::int64_t end = now_us();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        std::fprintf(stderr, "vm-time: %s could not be run\n", command[0]);
        std::exit(127);
    }
    return {end - start, WIFEXITED(status) && WEXITSTATUS(status) == 0, to_us(usage.ru_utime), to_us(usage.ru_stime),
            usage.ru_minflt, usage.ru_maxrss};
}

} // namespace

int main(int argc, char** argv)
{
    long runs = 1;
    long warmup = 0;
    bool quiet = false;
    bool ignore_status = false;
    bool resources = false;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (arg.empty() || arg[0] != '-')
            break;
        if (arg == "-n" && i + 1 < argc)
            runs = parse_count(argv[++i], 1);
        else if (arg == "-w" && i + 1 < argc)
            warmup = parse_count(argv[++i], 0);
        else if (arg == "-q")
            quiet = true;
        else if (arg == "-i")
            ignore_status = true;
        else if (arg == "-r")
            resources = true;
        else
            usage();
    }
    if (i >= argc)
        usage();
    char** command = argv + i;

    for (long w = 0; w < warmup; ++w)
        run_once(command, quiet);
    std::vector<std::int64_t> times;
    std::vector<std::int64_t> user;
    std::vector<std::int64_t> sys;
    std::vector<std::int64_t> faults;
    std::int64_t maxrss_kb = 0;
    long failed = 0;
    for (long r = 0; r < runs; ++r) {
        const Sample sample = run_once(command, quiet);
        times.push_back(sample.us);
        user.push_back(sample.user_us);
        sys.push_back(sample.sys_us);
        faults.push_back(sample.minflt);
        maxrss_kb = std::max(maxrss_kb, sample.maxrss_kb);
        if (!sample.ok)
            ++failed;
    }
    std::int64_t total = 0;
    for (const auto t : times)
        total += t;
    const std::int64_t median_us = median(times); // sorts: front() and back() are now min and max
    std::printf("runs=%ld total_us=%lld median_us=%lld min_us=%lld max_us=%lld failed=%ld", runs,
                static_cast<long long>(total), static_cast<long long>(median_us), static_cast<long long>(times.front()),
                static_cast<long long>(times.back()), failed);
    if (resources)
        std::printf(" user_us=%lld sys_us=%lld minflt=%lld maxrss_kb=%lld", static_cast<long long>(median(user)),
                    static_cast<long long>(median(sys)), static_cast<long long>(median(faults)),
                    static_cast<long long>(maxrss_kb));
    std::printf("\n");
    return failed > 0 && !ignore_status ? 1 : 0;
}
