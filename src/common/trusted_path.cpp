// SPDX-License-Identifier: LGPL-2.1-or-later
// Judging the whole path of something root trusts.
#include "trusted_path.hpp"

#include "error.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

namespace kmodtools {
namespace {

// Linux's own limit on symlinks followed in one lookup (MAXSYMLINKS).
constexpr int max_symlinks = 40;

std::deque<std::string> split_path(std::string_view path)
{
    std::deque<std::string> components;
    while (!path.empty()) {
        const auto slash = path.find('/');
        const auto component = path.substr(0, slash);
        if (!component.empty())
            components.emplace_back(component);
        path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    }
    return components;
}

std::string join_path(const std::vector<std::string>& components)
{
    std::string path;
    for (const auto& component : components)
        path += "/" + component;
    return path.empty() ? "/" : path;
}

std::string owner_name(uid_t uid) { return uid == 0 ? "root" : "uid " + std::to_string(uid); }

bool trusted_owner_of(const struct stat& st, uid_t trusted_owner)
{
    return st.st_uid == 0 || st.st_uid == trusted_owner;
}

std::string writable_by(const struct stat& st)
{
    return (st.st_mode & S_IWOTH) != 0 ? "others" : "its group";
}

std::string directory_problem(const struct stat& st, const std::string& shown, uid_t trusted_owner)
{
    if (!trusted_owner_of(st, trusted_owner))
        return "directory '" + shown + "' is not owned by " + owner_name(trusted_owner);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return "directory '" + shown + "' is writable by " + writable_by(st) +
               ((st.st_mode & S_ISVTX) != 0 ? " (a sticky bit does not make it safe)" : "");
    return {};
}

std::string end_problem(const struct stat& st, const std::string& shown, TrustedKind kind, uid_t trusted_owner)
{
    if (kind == TrustedKind::directory) {
        if (!S_ISDIR(st.st_mode))
            return "'" + shown + "' is not a directory";
        return directory_problem(st, shown, trusted_owner);
    }
    if (S_ISDIR(st.st_mode))
        return "'" + shown + "' is a directory, not a regular file";
    if (!S_ISREG(st.st_mode))
        return "'" + shown + "' is not a regular file";
    if (kind == TrustedKind::executable && (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
        return "'" + shown + "' is not executable";
    if (!trusted_owner_of(st, trusted_owner))
        return "'" + shown + "' is not owned by " + owner_name(trusted_owner);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return "'" + shown + "' is writable by " + writable_by(st);
    return {};
}

PathJudgement refused(std::string problem) { return {PathJudgement::Verdict::refused, std::move(problem), {}}; }

} // namespace

PathJudgement judge_path(const Paths& paths, std::string_view path, TrustedKind kind, uid_t trusted_owner)
{
    if (path.empty() || path.front() != '/')
        return refused("not an absolute path");
    std::vector<std::string> resolved;
    std::deque<std::string> pending = split_path(path);
    int symlinks_followed = 0;
    struct stat st {};
    if (::stat(paths.root().c_str(), &st) < 0)
        return refused("cannot inspect '/': " + errno_text(errno));
    if (pending.empty())
        return kind == TrustedKind::directory ? PathJudgement{PathJudgement::Verdict::trusted, {}, paths.root()}
                                              : refused("'/' is a directory, not a regular file");
    if (auto problem = directory_problem(st, "/", trusted_owner); !problem.empty())
        return refused(problem);

    while (!pending.empty()) {
        const std::string component = pending.front();
        pending.pop_front();
        if (component == ".")
            continue;
        if (component == "..") {
            if (!resolved.empty())
                resolved.pop_back();
            continue;
        }
        resolved.push_back(component);
        const std::string shown = join_path(resolved);
        const auto on_host = paths.under_root(shown);
        if (::lstat(on_host.c_str(), &st) < 0) {
            if (errno == ENOENT && symlinks_followed == 0)
                return {PathJudgement::Verdict::missing, "'" + shown + "' does not exist", {}};
            if (errno == ENOENT)
                return refused("'" + shown + "' does not exist (a dangling symlink on the way)");
            return refused("cannot inspect '" + shown + "': " + errno_text(errno));
        }
        if (S_ISLNK(st.st_mode)) {
            // Who owns a symlink decides what it points to; its directory was judged already.
            if (!trusted_owner_of(st, trusted_owner))
                return refused("symlink '" + shown + "' is not owned by " + owner_name(trusted_owner));
            if (++symlinks_followed > max_symlinks)
                return refused("too many levels of symlinks");
            std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
            const auto length = ::readlink(on_host.c_str(), target.data(), target.size());
            if (length < 0 || static_cast<std::size_t>(length) >= target.size())
                return refused("cannot read symlink '" + shown + "'");
            target.resize(static_cast<std::size_t>(length));
            resolved.pop_back();
            if (!target.empty() && target.front() == '/')
                resolved.clear();
            auto target_components = split_path(target);
            pending.insert(pending.begin(), target_components.begin(), target_components.end());
            continue;
        }
        if (!pending.empty()) {
            if (!S_ISDIR(st.st_mode))
                return refused("'" + shown + "' is not a directory");
            if (auto problem = directory_problem(st, shown, trusted_owner); !problem.empty())
                return refused(problem);
            continue;
        }
        if (auto problem = end_problem(st, shown, kind, trusted_owner); !problem.empty())
            return refused(problem);
        return {PathJudgement::Verdict::trusted, {}, on_host};
    }
    // The path ended in "." or ".." (or a symlink to a directory that did): it names a directory.
    if (kind == TrustedKind::directory) {
        if (::stat(paths.under_root(join_path(resolved)).c_str(), &st) < 0)
            return refused("cannot inspect '" + join_path(resolved) + "': " + errno_text(errno));
        if (auto problem = directory_problem(st, join_path(resolved), trusted_owner); !problem.empty())
            return refused(problem);
        return {PathJudgement::Verdict::trusted, {}, paths.under_root(join_path(resolved))};
    }
    return refused("'" + join_path(resolved) + "' is a directory, not a regular file");
}

} // namespace kmodtools
