// SPDX-License-Identifier: LGPL-2.1-or-later
// The one place where an error becomes a message and an exit status, shared by every tool's main().
#pragma once

#include "error.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace kmodtools {

// Sets up logging as `program_name`, runs `body`, and turns whatever it throws into one line on the
// log and the documented exit status: Error's own, 2 for a command-line error, 1 for anything else.
// Then flushes standard output: output that could not be written (a full disk, a closed pipe) is a
// failure too, whatever the body returned.
int tool_main(std::string_view program_name, int argc, char** argv,
              const std::function<ExitStatus(int argc, char** argv)>& body);

// The kernel may start its helper with fds 0-2 closed; the first files opened would then take those
// numbers, and anything printed "to stderr" would land in them. Opens /dev/null in their place.
// tool_main() calls it first; exposed for tests.
void ensure_standard_fds();

// app.parse() in the one command-line voice of every tool: -h/--help prints `help` (the tool's
// own short text), -V/--version "PROGRAM from kmod-tools VERSION"; an unknown option, a missing
// value or a stray argument is Error::usage with one wording, which tool_main follows with
// "Try 'PROGRAM --help'.". Call it on an app with no help or version flag of its own.
void parse_command_line(CLI::App& app, int argc, char** argv, std::string_view help);

// "PROGRAM from kmod-tools VERSION", as -V prints it.
std::string version_line(std::string_view program_name);

} // namespace kmodtools
