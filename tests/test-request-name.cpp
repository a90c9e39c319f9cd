// SPDX-License-Identifier: LGPL-2.1-or-later
// Tests of requested-name validation and of quoting names in messages.
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
