// SPDX-License-Identifier: LGPL-2.1-or-later
// The doctest runner shared by every unit test executable.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
