// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of logging: program prefix, thresholds, one line per message, journal detection.
#include "fake_root.hpp"
#include "log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "capture_stderr.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;
using kmodtools::testing::FakeRoot;

using kmodtools::testing::capture_stderr;

TEST_CASE("messages carry the program name and respect the threshold")
{
    ::unsetenv("JOURNAL_STREAM");
    const auto text = capture_stderr([] {
        log::setup("kmod-test", log::Target::stderr_stream, log::Level::notice);
        log::error("cannot frobnicate 'x'");
        log::warning("careful");
        log::info("not shown");
        log::setup("kmod-test", log::Target::stderr_stream, log::Level::debug);
        log::debug("now shown");
    });
    CHECK(text == "kmod-test: cannot frobnicate 'x'\nkmod-test: warning: careful\nkmod-test: now shown\n");
}

TEST_CASE("a message is always one line")
{
    const auto text = capture_stderr([] {
        log::setup("kmod-test", log::Target::stderr_stream);
        log::error("name 'a\nb' is bad");
    });
    CHECK(text == "kmod-test: name 'a b' is bad\n");
}

TEST_CASE("with stderr connected to the journal, lines get priority prefixes")
{
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    struct stat st {};
    REQUIRE(::fstat(::fileno(file), &st) == 0);
    const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
    CHECK(log::fd_is_journal_stream(::fileno(file)));
    CHECK_FALSE(log::fd_is_journal_stream(STDIN_FILENO));

    const int saved = ::dup(STDERR_FILENO);
    ::dup2(::fileno(file), STDERR_FILENO);
    log::setup("kmod-test", log::Target::stderr_stream);
    log::error("e");
    log::warning("w");
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    ::unsetenv("JOURNAL_STREAM");

    std::string text;
    std::rewind(file);
    for (int c; (c = std::fgetc(file)) != EOF;)
        text.push_back(static_cast<char>(c));
    std::fclose(file);
    CHECK(text == "<3>kmod-test: e\n<4>kmod-test: warning: w\n");
}

TEST_CASE("malformed JOURNAL_STREAM is not the journal")
{
    ::setenv("JOURNAL_STREAM", "garbage", 1);
    CHECK_FALSE(log::fd_is_journal_stream(STDERR_FILENO));
    ::unsetenv("JOURNAL_STREAM");
}

TEST_CASE("a long kernel-log message is split into records that fit, none dropped")
{
    const std::string line(3000, 'x');
    const auto records = log::kernel_log_records("<5>kmod-request: ", "audit: " + line);
    REQUIRE(records.size() == 4);
    std::string joined;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& record = records[i];
        CHECK(record.size() <= 960);
        CHECK(record.rfind("<5>kmod-request: ", 0) == 0);
        CHECK(record.back() == '\n');
        auto body = record.substr(17, record.size() - 18);
        if (i > 0) {
            CHECK(body.rfind("[continued] ", 0) == 0);
            body.erase(0, 12);
        }
        if (i + 1 < records.size()) {
            CHECK(body.size() > 12);
            CHECK(body.substr(body.size() - 12) == " [continued]");
            body.erase(body.size() - 12);
        }
        joined += body;
    }
    CHECK(joined == "audit: " + line);
    CHECK(log::kernel_log_records("<3>p: ", "short") == std::vector<std::string>{"<3>p: short\n"});
}

TEST_CASE("messages fall back to a sink that exists: syslog to the kernel log, the kernel log to stderr")
{
    ::unsetenv("JOURNAL_STREAM");
    FakeRoot root;
    const auto paths = root.paths();
    SUBCASE("no syslog socket: the kernel log")
    {
        const auto kmsg = root.write("/dev/kmsg", "");
        const auto text = capture_stderr([&] {
            log::setup("kmod-test", log::Target::syslog, log::Level::notice, &paths);
            log::error("nobody listens on /dev/log");
        });
        CHECK(text.empty());
        CHECK(log::target() == log::Target::kmsg);
        CHECK(kmodtools::testing::read_file(kmsg) == "<3>kmod-test: nobody listens on /dev/log\n");
    }
    SUBCASE("no syslog socket and no kernel log: stderr")
    {
        const auto text = capture_stderr([&] {
            log::setup("kmod-test", log::Target::syslog, log::Level::notice, &paths);
            log::error("still said");
        });
        CHECK(log::target() == log::Target::stderr_stream);
        CHECK(text == "kmod-test: still said\n");
    }
    log::setup("kmod-test", log::Target::stderr_stream);
}
