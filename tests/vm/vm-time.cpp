// SPDX-License-Identifier: LGPL-2.1-or-later
// vm-time [-n RUNS] [-w WARMUP] [-q] [-i] [--] COMMAND [ARG...]: runs COMMAND RUNS times (after WARMUP
// uncounted runs) and prints "runs=N total_us=T median_us=M min_us=A max_us=B failed=F" on one line.
// The VM benchmark needs this because busybox's `time` only resolves 10 ms, which is the same order as
// the operations it compares; CLOCK_MONOTONIC around fork..waitpid resolves microseconds and is immune
// to clock steps. Only the child's lifetime is measured, not the shell that starts vm-time.
//   -q  send COMMAND's stdout and stderr to /dev/null (so its messages cannot mix with the result line)
//   -i  ignore COMMAND's exit status (e.g. a mount that fails after making the kernel load a module);
//       otherwise a run that fails is counted in failed= and vm-time exits 1.
#include <fcntl.h>
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
    std::fprintf(stderr, "usage: vm-time [-n RUNS] [-w WARMUP] [-q] [-i] [--] COMMAND [ARG...]\n");
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

// One run: its wall time in microseconds, and whether it exited 0.
struct Sample {
    std::int64_t us = 0;
    bool ok = false;
};

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
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            std::perror("vm-time: waitpid");
            std::exit(1);
        }
    }
    const std::int64_t end = now_us();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        std::fprintf(stderr, "vm-time: %s could not be run\n", command[0]);
        std::exit(127);
    }
    return {end - start, WIFEXITED(status) && WEXITSTATUS(status) == 0};
}

} // namespace

int main(int argc, char** argv)
{
    long runs = 1;
    long warmup = 0;
    bool quiet = false;
    bool ignore_status = false;
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
        else
            usage();
    }
    if (i >= argc)
        usage();
    char** command = argv + i;

    for (long w = 0; w < warmup; ++w)
        run_once(command, quiet);
    std::vector<std::int64_t> times;
    long failed = 0;
    for (long r = 0; r < runs; ++r) {
        const Sample sample = run_once(command, quiet);
        times.push_back(sample.us);
        if (!sample.ok)
            ++failed;
    }
    std::int64_t total = 0;
    for (const auto t : times)
        total += t;
    std::sort(times.begin(), times.end());
    const std::size_t n = times.size();
    // The median of an even count is the mean of the two middle samples.
    const std::int64_t median = n % 2 == 1 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    std::printf("runs=%ld total_us=%lld median_us=%lld min_us=%lld max_us=%lld failed=%ld\n", runs,
                static_cast<long long>(total), static_cast<long long>(median), static_cast<long long>(times.front()),
                static_cast<long long>(times.back()), failed);
    return failed > 0 && !ignore_status ? 1 : 0;
}
