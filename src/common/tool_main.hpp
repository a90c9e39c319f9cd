// SPDX-License-Identifier: LGPL-2.1-or-later
// The one place where an error becomes a message and an exit status, shared by every tool's main().
#pragma once

#include "error.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace kmodtools {

// Sets up logging as `program_name`, runs `body`, and turns whatever it throws into one line on the
// log and the documented exit status: Error's own, 2 for a command-line error, 1 for anything else.
// Then flushes standard output: output that could not be written (a full disk, a closed pipe) is a
// failure too, whatever the body returned.
// A command line of only -h/--help or -V/--version is answered here (`help`, the version line)
// without running the body: no parser is built and no exception thrown for the commonest question.
int tool_main(std::string_view program_name, std::string_view help, int argc, char** argv,
              const std::function<ExitStatus(int argc, char** argv)>& body);

// The kernel may start its helper with fds 0-2 closed; the first files opened would then take those
// numbers, and anything printed "to stderr" would land in them. Opens /dev/null in their place.
// tool_main() calls it first; exposed for tests.
void ensure_standard_fds();

// "PROGRAM from kmod-tools VERSION", as -V prints it.
std::string version_line(std::string_view program_name);

// What -h and -V print on standard output: `help`, and the version line with its newline.
void print_help(std::string_view help);
void print_version(std::string_view program_name);

} // namespace kmodtools
