// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of reading a requesting task from a fake /proc, its class, and its one-line description.
#include "requester_info.hpp"

#include "error.hpp"
#include "fake_root.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

namespace {

constexpr const char* init_ns = "user:[4026531837]";
const std::string waiting_stack = "[<0>] call_usermodehelper_exec+0x14a/0x1a0\n"
                                  "[<0>] __request_module+0x1a5/0x3e0\n"
                                  "[<0>] __sock_create+0x152/0x1c0\n"
                                  "[<0>] __sys_socket+0x85/0x100\n";

// A task as /proc shows it: stat as on Debian 12's kernel (starttime 610 ticks, flags 4194560).
void add_task(const FakeRoot& root, pid_t pid, const std::string& comm, const std::string& uids,
              const std::string& cap_effective, const std::string& user_ns = init_ns,
              const std::string& stack = waiting_stack, unsigned long flags = 4194560)
{
    const std::string dir = "/proc/" + std::to_string(pid);
    root.write(dir + "/stat", std::to_string(pid) + " (" + comm + ") D 88 0 0 0 -1 " + std::to_string(flags) +
                                  " 157 0 0 0 3 2 0 0 20 0 1 0 610 2392064 59 18446744073709551615 0 0 0\n");
    root.write(dir + "/status", "Name:\tx\nUmask:\t0022\nState:\tD (disk sleep)\nTgid:\t" + std::to_string(pid) +
                                    "\nUid:\t" + uids + "\nGid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t" +
                                    cap_effective + "\nCapEff:\t" + cap_effective + "\n");
    root.write(dir + "/cgroup", "0::/user.slice/user-1000.slice/session-2.scope\n");
    root.write(dir + "/stack", stack);
    root.write(dir + "/wchan", "call_usermodehelper_exec");
    std::filesystem::remove(root / (dir + "/ns/user"));
    root.symlink(user_ns, dir + "/ns/user");
}

} // namespace

TEST_CASE("an unprivileged requester")
{
    FakeRoot root;
    root.symlink(init_ns, "/proc/1/ns/user");
    add_task(root, 812, "sock-test", "1000\t1000\t1000\t1000", "0000000000000000");
    const auto info = read_requester_info(root.paths(), 812);
    REQUIRE(info);
    CHECK(info->pid == 812);
    CHECK(info->comm == "sock-test");
    CHECK(info->uid == 1000);
    CHECK(info->euid == 1000);
    CHECK_FALSE(info->has_cap_sys_module());
    CHECK(info->initial_user_namespace == true);
    CHECK(info->cgroup == "/user.slice/user-1000.slice/session-2.scope");
    CHECK_FALSE(info->kernel_thread);
    CHECK(info->waiting_for_module == RequesterInfo::Waiting::yes);
    CHECK(info->start_ns == 610ULL * (1000000000ULL / static_cast<unsigned long long>(::sysconf(_SC_CLK_TCK))));
    CHECK(classify(*info) == RequesterClass::unprivileged);
    CHECK(describe(*info) == "pid 812 ('sock-test', uid 1000, no CAP_SYS_MODULE, cgroup "
                             "'/user.slice/user-1000.slice/session-2.scope')");
}

TEST_CASE("classes")
{
    FakeRoot root;
    root.symlink(init_ns, "/proc/1/ns/user");
    SUBCASE("root with every capability is privileged")
    {
        add_task(root, 10, "mount", "0\t0\t0\t0", "000001ffffffffff");
        const auto info = read_requester_info(root.paths(), 10);
        REQUIRE(info);
        CHECK(classify(*info) == RequesterClass::privileged);
        CHECK(describe(*info).find(", CAP_SYS_MODULE,") != std::string::npos);
    }
    SUBCASE("root without CAP_SYS_MODULE (bit 16) is unprivileged")
    {
        add_task(root, 11, "svc", "0\t0\t0\t0", "000001fffffeffff");
        const auto info = read_requester_info(root.paths(), 11);
        REQUIRE(info);
        CHECK_FALSE(info->has_cap_sys_module());
        CHECK(classify(*info) == RequesterClass::unprivileged);
    }
    SUBCASE("only CAP_SYS_MODULE, as a setuid helper with euid 0")
    {
        add_task(root, 12, "helper", "1000\t0\t0\t0", "0000000000010000");
        const auto info = read_requester_info(root.paths(), 12);
        REQUIRE(info);
        CHECK(classify(*info) == RequesterClass::privileged);
        CHECK(describe(*info) == "pid 12 ('helper', uid 1000, euid 0, CAP_SYS_MODULE, cgroup "
                                 "'/user.slice/user-1000.slice/session-2.scope')");
    }
    SUBCASE("every capability in a user namespace of its own is a container")
    {
        add_task(root, 13, "unshare", "0\t0\t0\t0", "000001ffffffffff", "user:[4026532119]");
        const auto info = read_requester_info(root.paths(), 13);
        REQUIRE(info);
        CHECK(info->initial_user_namespace == false);
        CHECK(classify(*info) == RequesterClass::container);
        CHECK(describe(*info).find("user namespace 4026532119") != std::string::npos);
        // Its capabilities are not the host's, and the audit line must not read as if they were.
        CHECK(describe(*info).find(", CAP_SYS_MODULE in its user namespace only, user namespace 4026532119") !=
              std::string::npos);
    }
    SUBCASE("a user namespace that cannot be read is unknown")
    {
        add_task(root, 14, "x", "0\t0\t0\t0", "000001ffffffffff");
        std::filesystem::remove(root / "/proc/14/ns/user");
        const auto info = read_requester_info(root.paths(), 14);
        REQUIRE(info);
        CHECK_FALSE(info->initial_user_namespace);
        CHECK(classify(*info) == RequesterClass::unknown);
    }
    SUBCASE("a kernel thread")
    {
        add_task(root, 15, "kworker/u2:1", "0\t0\t0\t0", "000001ffffffffff", init_ns, waiting_stack, 0x00208040);
        const auto info = read_requester_info(root.paths(), 15);
        REQUIRE(info);
        CHECK(info->kernel_thread);
        CHECK(classify(*info) == RequesterClass::privileged);
        CHECK(describe(*info).find("'kworker/u2:1', kernel thread,") != std::string::npos);
    }
}

TEST_CASE("stricter classes and their names")
{
    CHECK(stricter(RequesterClass::privileged, RequesterClass::unprivileged) == RequesterClass::unprivileged);
    CHECK(stricter(RequesterClass::container, RequesterClass::unprivileged) == RequesterClass::container);
    CHECK(stricter(RequesterClass::unknown, RequesterClass::privileged) == RequesterClass::unknown);
    CHECK(stricter(RequesterClass::privileged, RequesterClass::privileged) == RequesterClass::privileged);
    for (const auto c :
         {RequesterClass::privileged, RequesterClass::unprivileged, RequesterClass::container, RequesterClass::unknown})
        CHECK(parse_requester_class(to_string(c)) == c);
    CHECK_FALSE(parse_requester_class("root"));
    CHECK_FALSE(parse_requester_class(""));
}

TEST_CASE("is it waiting for a module helper now?")
{
    FakeRoot root;
    root.symlink(init_ns, "/proc/1/ns/user");
    SUBCASE("waiting in another user-mode helper (request-key) is not waiting for a module")
    {
        add_task(root, 20, "keyctl", "0\t0\t0\t0", "0", init_ns,
                 "[<0>] call_usermodehelper_exec+0x14a/0x1a0\n[<0>] call_sbin_request_key+0x2b1/0x3d0\n"
                 "[<0>] request_key_and_link+0x5a4/0x790\n");
        CHECK(read_requester_info(root.paths(), 20)->waiting_for_module == RequesterInfo::Waiting::no);
    }
    SUBCASE("running, or sleeping elsewhere")
    {
        add_task(root, 21, "sleep", "0\t0\t0\t0", "0", init_ns,
                 "[<0>] do_nanosleep+0x67/0x190\n[<0>] hrtimer_nanosleep+0xc2/0x1b0\n");
        CHECK(read_requester_info(root.paths(), 21)->waiting_for_module == RequesterInfo::Waiting::no);
    }
    SUBCASE("without /proc/PID/stack, wchan decides")
    {
        add_task(root, 22, "x", "0\t0\t0\t0", "0");
        std::filesystem::remove(root / "/proc/22/stack");
        CHECK(read_requester_info(root.paths(), 22)->waiting_for_module == RequesterInfo::Waiting::yes);
        root.write("/proc/22/wchan", "do_nanosleep");
        CHECK(read_requester_info(root.paths(), 22)->waiting_for_module == RequesterInfo::Waiting::no);
    }
    SUBCASE("with neither, nobody can tell")
    {
        add_task(root, 23, "x", "0\t0\t0\t0", "0");
        std::filesystem::remove(root / "/proc/23/stack");
        std::filesystem::remove(root / "/proc/23/wchan");
        CHECK(read_requester_info(root.paths(), 23)->waiting_for_module == RequesterInfo::Waiting::unknown);
    }
}

TEST_CASE("a task that is gone, and /proc files that make no sense")
{
    FakeRoot root;
    root.symlink(init_ns, "/proc/1/ns/user");
    CHECK_FALSE(read_requester_info(root.paths(), 4242));
    CHECK_FALSE(read_requester_info(root.paths(), 0));
    CHECK_FALSE(read_requester_info(root.paths(), -1));
    add_task(root, 30, "x", "0\t0\t0\t0", "0");
    SUBCASE("stat without fields")
    {
        root.write("/proc/30/stat", "30 (x) D\n");
        CHECK_THROWS_AS(read_requester_info(root.paths(), 30), Error);
    }
    SUBCASE("status without CapEff")
    {
        root.write("/proc/30/status", "Uid:\t0\t0\t0\t0\n");
        CHECK_THROWS_AS(read_requester_info(root.paths(), 30), Error);
    }
    SUBCASE("a Uid line that is no number")
    {
        root.write("/proc/30/status", "Uid:\tzero\t0\t0\t0\nCapEff:\t0\n");
        CHECK_THROWS_AS(read_requester_info(root.paths(), 30), Error);
    }
    SUBCASE("no cgroup file: no cgroup in the description")
    {
        std::filesystem::remove(root / "/proc/30/cgroup");
        const auto info = read_requester_info(root.paths(), 30);
        REQUIRE(info);
        CHECK(describe(*info) == "pid 30 ('x', uid 0, no CAP_SYS_MODULE)");
    }
}

TEST_CASE("hostile comm and cgroup values are escaped in the description")
{
    FakeRoot root;
    root.symlink(init_ns, "/proc/1/ns/user");
    SUBCASE("a comm that fakes the end of the description, with ')' and a newline")
    {
        add_task(root, 40, "x) granted\n", "1000\t1000\t1000\t1000", "0");
        const auto info = read_requester_info(root.paths(), 40);
        REQUIRE(info);
        CHECK(info->comm == "x) granted\n"); // the last ')' of stat is the real one
        CHECK(describe(*info).find("('x) granted\\x0a',") != std::string::npos);
    }
    for (const auto& [comm, escaped] : std::initializer_list<std::pair<std::string, std::string>>{
             {"\x1b[31mred", "'\\x1b[31mred'"},
             {"100%s%n", "'100%s%n'"}, // no format string ever sees it
             {"it's", "'it\\x27s'"},
             {"back\\slash", "'back\\x5cslash'"},
             {"caf\xc3\xa9\xff", "'caf\\xc3\\xa9\\xff'"}, // non-UTF-8 (and UTF-8) bytes
             {"tab\there", "'tab\\x09here'"}}) {
        CAPTURE(comm);
        add_task(root, 41, comm, "1000\t1000\t1000\t1000", "0");
        const auto info = read_requester_info(root.paths(), 41);
        REQUIRE(info);
        const auto text = describe(*info);
        CHECK(text.find("(" + escaped + ",") != std::string::npos);
        for (const char c : text)
            CHECK((c >= 0x20 && c < 0x7f));
    }
    SUBCASE("a cgroup name with a newline")
    {
        add_task(root, 42, "x", "0\t0\t0\t0", "0");
        root.write("/proc/42/cgroup", "0::/evil\nkmod-request: audit: fake\n");
        const auto info = read_requester_info(root.paths(), 42);
        REQUIRE(info);
        CHECK(info->cgroup == "/evil");
    }
}
