// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of module names, requested-name validation, name/option splitting and quoting names in messages.
#include "error.hpp"
#include "request_name.hpp"

#include <doctest/doctest.h>

using namespace kmodtools;

TEST_CASE("real names and aliases are accepted")
{
    for (const char* name : {"xfs", "fs-xfs", "char-major-10-200", "net-pf-10", "rtnl-link-dummy", "crypto-sha256",
                             "pci:v00008086d0000100Esv*sd*bc02sc00i*", "snd-hda-intel", "of:NfooT(null)Cacme,widget"})
        CHECK_MESSAGE(request_name_problem(name) == "", name);
    CHECK(request_name_problem(std::string(max_request_name_length, 'a')) == "");
}

TEST_CASE("bad names say what is wrong")
{
    CHECK(request_name_problem("") == "empty name");
    CHECK(request_name_problem("-q") == "name starts with '-'");
    CHECK(request_name_problem("../../tmp/evil") == "name contains '/' (a module name or alias, not a path)");
    CHECK(request_name_problem("fs xfs") == "name contains whitespace");
    CHECK(request_name_problem("fs\txfs") == "name contains whitespace");
    CHECK(request_name_problem("xfs\n") == "name contains a control character");
    CHECK(request_name_problem(std::string("x\0y", 3)) == "name contains a control character");
    CHECK(request_name_problem(std::string(4096, 'a')) == "name longer than 1024 characters");
}

TEST_CASE("names in messages are quoted, escaped and cut short")
{
    CHECK(quote_name("xfs") == "'xfs'");
    CHECK(quote_name("a\nb") == "'a\\x0ab'");
    CHECK(quote_name("\x1b[31mred") == "'\\x1b[31mred'");
    CHECK(quote_name(std::string(100, 'a')) == "'" + std::string(64, 'a') + "...'");
    // A quote would end the quoting early; bytes past ASCII may not be UTF-8 (the journal would
    // keep the line as a blob); a backslash would make \x.. ambiguous; '%' is only text.
    CHECK(quote_name("fs-a' granted") == "'fs-a\\x27 granted'");
    CHECK(quote_name("caf\xc3\xa9\xff") == "'caf\\xc3\\xa9\\xff'");
    CHECK(quote_name("a\\x41") == "'a\\x5cx41'");
    CHECK(quote_name("100%s%n") == "'100%s%n'");
}

TEST_CASE("module names compare with - and _ alike")
{
    CHECK(normalize_module_name("snd-hda-intel") == "snd_hda_intel");
    CHECK(normalize_module_name("xfs") == "xfs");
}

TEST_CASE("is_module_name accepts what the kernel keeps and nothing a path could hide in")
{
    CHECK(is_module_name("snd_hda_intel"));
    CHECK(is_module_name(std::string(55, 'a')));
    CHECK_FALSE(is_module_name(std::string(56, 'a')));
    CHECK_FALSE(is_module_name(""));
    CHECK_FALSE(is_module_name("snd-hda-intel"));
    CHECK_FALSE(is_module_name("../etc"));
    CHECK_FALSE(is_module_name("fs-xfs"));
}

TEST_CASE("split_requested_names gives PARAM=VALUE words to the name before them")
{
    const auto requested = split_requested_names({"lockd", "nlm_timeout=15", "nlm_udpport=4045", "xfs", "=odd"});
    CHECK(requested.names == std::vector<std::string>{"lockd", "xfs", "=odd"});
    CHECK(requested.options.at("lockd") == "nlm_timeout=15 nlm_udpport=4045");
    CHECK(requested.options.count("xfs") == 0);
    CHECK_THROWS_WITH_AS(split_requested_names({"a=1", "lockd"}), "option 'a=1' comes before any module name", Error);
    CHECK_THROWS_WITH_AS(split_requested_names({}), "no module name given (see --help)", Error);
    CHECK_THROWS_WITH_AS(split_requested_names({"xfs", "bad/name"}),
                         "bad name 'bad/name': name contains '/' (a module name or alias, not a path)", Error);
}
