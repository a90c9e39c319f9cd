// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of the trace instance for the kernel's helper: which helpers are kmod-request, and what
// preparing the instance for one does on fake trees (the real instance is proven in the VM,
// tests/vm/scenarios/sysctl.sh).
#include "helper_trace.hpp"

#include "capture_stderr.hpp"
#include "fake_root.hpp"
#include "fake_trace.hpp"
#include "log.hpp"
#include "skip.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace kmodtools;
using kmodtools::testing::capture_stderr;
using kmodtools::testing::FakeRoot;
using kmodtools::testing::is_root;
using kmodtools::testing::make_ready_instance;

namespace {

const std::string instance = "/sys/kernel/tracing/instances/kmod-tools";

// Helpers the safety rules accept: root's files, so only as root.
struct HelperTree : FakeRoot {
    HelperTree()
    {
        write("/usr/sbin/kmod-request", "#!/bin/sh\n", 0755);
        write("/usr/local/sbin/kmod-request", "#!/bin/sh\n", 0755);
        write("/usr/sbin/kmod-request-wrapper", "#!/bin/sh\nexec /usr/sbin/kmod-request \"$@\"\n", 0755);
        write("/sbin/modprobe", "#!/bin/sh\n", 0755);
        symlink("kmod-request", "/usr/sbin/helper-link");
        symlink("usr/sbin", "/xsbin");
        symlink("/usr/sbin/kmod-request-wrapper", "/usr/sbin/kmod-request-as-a-link");
        mkdir("/scratch", 0777);
        write("/scratch/kmod-request", "#!/bin/sh\n", 0755);
        log::setup("kmod-sysctl", log::Target::stderr_stream, log::Level::debug);
    }
};

} // namespace

TEST_CASE("which helpers are kmod-request")
{
    SKIP_UNLESS(is_root(), "needs root: the safety rules trust root's files only");
    HelperTree root;
    const auto paths = root.paths();
    CHECK(helper_is_kmod_request(paths, "/usr/sbin/kmod-request"));
    CHECK(helper_is_kmod_request(paths, "/usr/local/sbin/kmod-request"));
    CHECK(helper_is_kmod_request(paths, "/xsbin/kmod-request"));
    CHECK_MESSAGE(helper_is_kmod_request(paths, "/usr/sbin/helper-link"), "the file the symlink leads to counts");
    CHECK_FALSE(helper_is_kmod_request(paths, "/usr/sbin/kmod-request-as-a-link"));
    CHECK_FALSE(helper_is_kmod_request(paths, "/usr/sbin/kmod-request-wrapper"));
    CHECK_FALSE(helper_is_kmod_request(paths, "/sbin/modprobe"));
    CHECK_FALSE(helper_is_kmod_request(paths, ""));
    CHECK_FALSE(helper_is_kmod_request(paths, "usr/sbin/kmod-request"));
    CHECK_FALSE(helper_is_kmod_request(paths, "/usr/sbin/missing/kmod-request"));
    CHECK_FALSE_MESSAGE(helper_is_kmod_request(paths, "/scratch/kmod-request"),
                        "an unsafe helper is not trusted as one");
}

TEST_CASE("preparing the instance for a helper")
{
    SKIP_UNLESS(is_root(), "needs root: the safety rules trust root's files only");
    HelperTree root;
    const auto paths = root.paths();
    TracePreparation result{};

    SUBCASE("another helper: nothing is done, nothing said")
    {
        make_ready_instance(root);
        CHECK(capture_stderr([&] { result = prepare_request_trace_for(paths, "/sbin/modprobe"); }) == "");
        CHECK(result == TracePreparation::not_needed);
        CHECK(std::filesystem::exists(root / instance));
    }
    SUBCASE("no tracefs: one warning line")
    {
        CHECK(capture_stderr([&] { result = prepare_request_trace_for(paths, "/usr/sbin/kmod-request"); }) ==
              "kmod-sysctl: warning: requester attribution not set up: tracefs is not mounted on " +
                  (root / "/sys/kernel/tracing").string() + " (nor reachable as " +
                  (root / "/sys/kernel/debug/tracing").string() + ")\n");
        CHECK(result == TracePreparation::failed);
    }
    SUBCASE("a ready instance is kept")
    {
        make_ready_instance(root);
        CHECK(capture_stderr([&] { result = prepare_request_trace_for(paths, "/usr/sbin/helper-link"); }) == "");
        CHECK(result == TracePreparation::kept);
    }
    SUBCASE("a set-up that fails: a warning, and no half-made instance")
    {
        root.mkdir("/sys/kernel/tracing", 0700);
        root.mkdir("/sys/kernel/tracing/instances", 0750);
        const auto said = capture_stderr([&] { result = prepare_request_trace_for(paths, "/usr/sbin/kmod-request"); });
        CHECK(said == "kmod-sysctl: warning: requester attribution not set up: cannot open " +
                          (root / instance).string() + "/set_event: No such file or directory\n");
        CHECK(result == TracePreparation::failed);
        CHECK_FALSE(std::filesystem::exists(root / instance));
    }
    SUBCASE("a tracefs directory others can write: refused, as a warning")
    {
        make_ready_instance(root);
        ::chmod((root / instance).c_str(), 0777);
        const auto said = capture_stderr([&] { result = prepare_request_trace_for(paths, "/usr/sbin/kmod-request"); });
        CHECK(said == "kmod-sysctl: warning: requester attribution not set up: refusing " + (root / instance).string() +
                          ": writable by group or others\n");
        CHECK(result == TracePreparation::failed);
    }
}
