// SPDX-License-Identifier: LGPL-2.1-or-later
// Standard input and output of every tool, through stdio.
//
// The tools never use iostreams: <iostream>'s start-up object sets up eight stream objects and the
// whole classic locale before main(), about 3,500 distinct instructions of the 16,400 that
// kmod-request runs for a kernel request (callgrind), which QEMU's TCG translates again in every
// helper process (tests/bench). command_line.hpp keeps CLI11 from bringing it in;
// tests/build/check-lean-startup checks that no tool links it.
#pragma once

#include <string>
#include <string_view>

namespace kmodtools {

// Writes `text` to standard output (buffered; tool_main() flushes it and reports a failed write).
void print(std::string_view text);

// The next line of standard input without its newline into `line`; false at the end of the input (a
// last line without a newline still counts). Throws Error for a read error.
bool read_standard_input_line(std::string& line);

// Flushes standard output: false when what was printed did not all arrive (a full disk, a closed
// pipe), with errno as the failed write left it.
bool flush_standard_output();

} // namespace kmodtools
