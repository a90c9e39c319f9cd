// SPDX-License-Identifier: LGPL-2.1-or-later
// Judging the whole path of something root trusts: every directory passed through, every symlink
// followed, and what the path ends at.
//
// What root runs (the modprobe helper) or obeys (the autoload policy) is only as safe as the least
// safe step on the way to it: a directory that others can write lets them replace a file in it (a
// sticky bit does not help: a /tmp cleaner plus anyone re-creating the name is enough), and a
// symlink decides where the path goes, so its owner does. The path is resolved by hand, under the
// root of `paths`, judging each step; ancestors of the root itself (a test's temporary directory)
// are not part of the system judged.
#pragma once

#include "paths.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace kmodtools {

enum class TrustedKind { executable, regular_file, directory };

struct PathJudgement {
    enum class Verdict { trusted, missing, refused };
    Verdict verdict = Verdict::refused;
    std::string problem; // for refused: why, naming the step ("directory '/etc' is writable by others")
    std::filesystem::path resolved; // for trusted: where the path leads, under the root, no symlink left

    bool trusted() const { return verdict == Verdict::trusted; }
    bool missing() const { return verdict == Verdict::missing; }
};

// Judges the absolute `path` of the system under `paths.root()`. Safe steps are owned by root (or
// by `trusted_owner`, which is root except in tests run by other users) and writable by nobody
// else. `missing` means the path names nothing and no symlink was followed on the way: only that
// counts as absent; a dangling symlink, a loop, EACCES or EIO is refused.
PathJudgement judge_path(const Paths& paths, std::string_view path, TrustedKind kind, uid_t trusted_owner = 0);

} // namespace kmodtools
