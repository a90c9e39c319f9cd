// SPDX-License-Identifier: LGPL-2.1-or-later
// LD_PRELOAD shim for the CLI tests: a fake kernel on $KMOD_TOOLS_ROOT in place of the module calls,
// and libkmod's reads of /sys/module and /proc sent under that root (see README.md beside it).
#define _GNU_SOURCE
// The wrappers below define libc's own names: fortification would make some of them inline
// functions, and 64-bit file offsets (meson's default) would rename open() to open64().
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <elf.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>

#define SHIM_EXPORT __attribute__((visibility("default")))

// Its presence is what lets kmod-tools insert or remove anything while KMOD_TOOLS_ROOT is set
// (require_kernel_access() in src/common/kmod_context.cpp): without the shim, no call reaches the kernel.
SHIM_EXPORT int kmod_tools_test_shim = 1;

// ---------------------------------------------------------------------------------------------
// The next definition of a symbol (libc's, or ASan's interceptor when ASan comes after us).

static void *next_symbol(const char *name)
{
    void *symbol = dlsym(RTLD_NEXT, name);
    if (symbol == NULL) {
        static const char message[] = "kmod-tools test shim: a libc symbol is missing\n";
        (void)!write(STDERR_FILENO, message, sizeof message - 1);
        abort();
    }
    return symbol;
}

// ISO C has no cast from void* to a function pointer; copying the bits is what POSIX dlsym() means.
#define NEXT(variable, name)                                                                               \
    do {                                                                                                   \
        if ((variable) == NULL) {                                                                          \
            void *symbol_ = next_symbol(name);                                                             \
            memcpy(&(variable), &symbol_, sizeof symbol_);                                                 \
        }                                                                                                  \
    } while (0)

static int real_open(const char *path, int flags, mode_t mode)
{
    static int (*fn)(const char *, int, ...);
    NEXT(fn, "open");
    return fn(path, flags, mode);
}

// snprintf() that leaves an empty string rather than a cut one: a cut path could name another file.
static bool format_into(char *buffer, size_t size, const char *spec, ...) __attribute__((format(printf, 3, 4)));
static bool format_into(char *buffer, size_t size, const char *spec, ...)
{
    va_list args;
    va_start(args, spec);
    const int n = vsnprintf(buffer, size, spec, args);
    va_end(args);
    if (n < 0 || (size_t)n >= size) {
        buffer[0] = '\0';
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// The fake root and the log.

// $KMOD_TOOLS_ROOT without trailing slashes, or NULL when unset, empty, relative or "/".
static const char *fake_root(size_t *length)
{
    const char *root = getenv("KMOD_TOOLS_ROOT");
    if (root == NULL || root[0] != '/')
        return NULL;
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (n <= 1)
        return NULL;
    *length = n;
    return root;
}

// One line per call, in one write() with O_APPEND: concurrent tools never interleave their lines.
static void shim_log(const char *spec, ...) __attribute__((format(printf, 1, 2)));
static void shim_log(const char *spec, ...)
{
    const char *log_path = getenv("KMOD_TOOLS_SHIM_LOG");
    if (log_path == NULL || log_path[0] == '\0')
        return;
    char line[4096];
    va_list args;
    va_start(args, spec);
    int n = vsnprintf(line, sizeof line - 1, spec, args);
    va_end(args);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)(sizeof line - 2);
    line[n++] = '\n';
    const int saved_errno = errno;
    const int fd = real_open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)!write(fd, line, (size_t)n);
        close(fd);
    }
    errno = saved_errno;
}

// ---------------------------------------------------------------------------------------------
// Path redirection.

static bool has_prefix(const char *path, const char *prefix)
{
    const size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

// What libkmod reads of the running kernel, with no option to read it elsewhere: module state in
// /sys/module (initstate, refcnt, holders, sections, coresize), /proc/modules (lsmod's list, and the
// fallback for sizes) and /proc/cmdline (MODULE.PARAM= options and modprobe.blacklist=).
static bool is_kernel_state(const char *path)
{
    return has_prefix(path, "/sys/module") || strcmp(path, "/proc/modules") == 0 ||
           strcmp(path, "/proc/cmdline") == 0;
}

// Paths of the host that a tool under test must not touch when KMOD_TOOLS_ROOT is set: every one is
// under the root in Paths. The process's own /proc/self and /proc/PID are fine (libc, sanitizers).
static bool is_host_only(const char *path)
{
    static const char *const watched[] = {
        "/lib/modules", "/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d",
        "/usr/lib/modprobe.d", "/etc/kmod-tools", "/run/kmod-tools", "/var/lib/kmod-tools", "/dev/kmsg",
        "/sys", "/proc",
    };
    if (has_prefix(path, "/proc/self") || has_prefix(path, "/proc/thread-self"))
        return false;
    char own[32];
    format_into(own, sizeof own, "/proc/%ld", (long)getpid());
    if (has_prefix(path, own))
        return false;
    for (size_t i = 0; i < sizeof watched / sizeof watched[0]; i++)
        if (has_prefix(path, watched[i]))
            return true;
    return false;
}

enum route { route_as_is, route_redirected, route_refused };

// Decides where `path` goes: kernel state is read under the root; another host path of the watched
// kind is refused (ENOENT) and logged as "host PATH", so a test can tell that a tool missed Paths.
static enum route route_path(const char *path, char buffer[PATH_MAX], const char **routed)
{
    *routed = path;
    size_t root_length = 0;
    const char *root = fake_root(&root_length);
    if (path == NULL || path[0] != '/' || root == NULL)
        return route_as_is;
    if (strncmp(path, root, root_length) == 0 && (path[root_length] == '/' || path[root_length] == '\0'))
        return route_as_is; // the tools prefix their own paths already
    if (is_kernel_state(path)) {
        if (!format_into(buffer, PATH_MAX, "%.*s%s", (int)root_length, root, path)) {
            errno = ENAMETOOLONG;
            return route_refused;
        }
        *routed = buffer;
        return route_redirected;
    }
    if (is_host_only(path)) {
        shim_log("host %s", path);
        errno = ENOENT;
        return route_refused;
    }
    return route_as_is;
}

// ROOT/dev/kmsg is the fake kernel's log, a regular file: every write() to the real device is a
// record of its own, so writers append here rather than overwrite each other from offset 0.
static int kernel_log_flags(const char *path, int flags)
{
    size_t root_length = 0;
    const char *root = fake_root(&root_length);
    if (root != NULL && strncmp(path, root, root_length) == 0 && strcmp(path + root_length, "/dev/kmsg") == 0)
        return flags | O_APPEND;
    return flags;
}

static bool open_needs_mode(int flags) { return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE; }

#define WRAP_OPEN(name)                                                                                    \
    SHIM_EXPORT int name(const char *path, int flags, ...)                                                 \
    {                                                                                                      \
        static int (*fn)(const char *, int, ...);                                                          \
        NEXT(fn, #name);                                                                                   \
        mode_t mode = 0;                                                                                   \
        if (open_needs_mode(flags)) {                                                                      \
            va_list args;                                                                                  \
            va_start(args, flags);                                                                         \
            mode = (mode_t)va_arg(args, int);                                                              \
            va_end(args);                                                                                  \
        }                                                                                                  \
        char buffer[PATH_MAX];                                                                             \
        const char *routed;                                                                                \
        if (route_path(path, buffer, &routed) == route_refused)                                            \
            return -1;                                                                                     \
        return fn(routed, kernel_log_flags(routed, flags), mode);                                          \
    }
WRAP_OPEN(open)
WRAP_OPEN(open64)

#define WRAP_OPENAT(name)                                                                                  \
    SHIM_EXPORT int name(int dirfd, const char *path, int flags, ...)                                      \
    {                                                                                                      \
        static int (*fn)(int, const char *, int, ...);                                                     \
        NEXT(fn, #name);                                                                                   \
        mode_t mode = 0;                                                                                   \
        if (open_needs_mode(flags)) {                                                                      \
            va_list args;                                                                                  \
            va_start(args, flags);                                                                         \
            mode = (mode_t)va_arg(args, int);                                                              \
            va_end(args);                                                                                  \
        }                                                                                                  \
        char buffer[PATH_MAX];                                                                             \
        const char *routed;                                                                                \
        if (route_path(path, buffer, &routed) == route_refused)                                            \
            return -1;                                                                                     \
        return fn(dirfd, routed, kernel_log_flags(routed, flags), mode);                                   \
    }
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)

// _FORTIFY_SOURCE turns some open() calls into these.
#define WRAP_OPEN_2(name)                                                                                  \
    SHIM_EXPORT int name(const char *path, int flags)                                                      \
    {                                                                                                      \
        static int (*fn)(const char *, int);                                                               \
        NEXT(fn, #name);                                                                                   \
        char buffer[PATH_MAX];                                                                             \
        const char *routed;                                                                                \
        if (route_path(path, buffer, &routed) == route_refused)                                            \
            return -1;                                                                                     \
        return fn(routed, kernel_log_flags(routed, flags));                                                \
    }
WRAP_OPEN_2(__open_2)
WRAP_OPEN_2(__open64_2)

#define WRAP_OPENAT_2(name)                                                                                \
    SHIM_EXPORT int name(int dirfd, const char *path, int flags)                                           \
    {                                                                                                      \
        static int (*fn)(int, const char *, int);                                                          \
        NEXT(fn, #name);                                                                                   \
        char buffer[PATH_MAX];                                                                             \
        const char *routed;                                                                                \
        if (route_path(path, buffer, &routed) == route_refused)                                            \
            return -1;                                                                                     \
        return fn(dirfd, routed, kernel_log_flags(routed, flags));                                         \
    }
WRAP_OPENAT_2(__openat_2)
WRAP_OPENAT_2(__openat64_2)

// A wrapper for a function whose first argument is the path: name(path, rest...).
#define WRAP_PATH_FIRST(ret, failed, name, params, args)                                                   \
    SHIM_EXPORT ret name(const char *path, params)                                                         \
    {                                                                                                      \
        static ret (*fn)(const char *, params);                                                            \
        NEXT(fn, #name);                                                                                   \
        char buffer[PATH_MAX];                                                                             \
        const char *routed;                                                                                \
        if (route_path(path, buffer, &routed) == route_refused)                                            \
            return failed;                                                                                 \
        return fn(routed, args);                                                                           \
    }
#define COMMA ,
WRAP_PATH_FIRST(FILE *, NULL, fopen, const char *mode, mode)
WRAP_PATH_FIRST(FILE *, NULL, fopen64, const char *mode, mode)
WRAP_PATH_FIRST(int, -1, stat, struct stat *buf, buf)
WRAP_PATH_FIRST(int, -1, stat64, struct stat64 *buf, buf)
WRAP_PATH_FIRST(int, -1, lstat, struct stat *buf, buf)
WRAP_PATH_FIRST(int, -1, lstat64, struct stat64 *buf, buf)
WRAP_PATH_FIRST(int, -1, access, int mode, mode)
WRAP_PATH_FIRST(ssize_t, -1, readlink, char *buf COMMA size_t size, buf COMMA size)

SHIM_EXPORT DIR *opendir(const char *path)
{
    static DIR *(*fn)(const char *);
    NEXT(fn, "opendir");
    char buffer[PATH_MAX];
    const char *routed;
    if (route_path(path, buffer, &routed) == route_refused)
        return NULL;
    return fn(routed);
}

// A wrapper for a function whose path follows a directory descriptor: name(dirfd, path, rest...).
#define WRAP_AT(ret, name, params, args)                                                                   \
    SHIM_EXPORT ret name(int dirfd, const char *path, params)                                              \
    {                                                                                                      \
        static ret (*fn)(int, const char *, params);                                                       \
        NEXT(fn, #name);                                                                                   \
        char buffer[PATH_MAX];                                                                             \
        const char *routed;                                                                                \
        if (route_path(path, buffer, &routed) == route_refused)                                            \
            return -1;                                                                                     \
        return fn(dirfd, routed, args);                                                                    \
    }
WRAP_AT(int, fstatat, struct stat *buf COMMA int flags, buf COMMA flags)
WRAP_AT(int, fstatat64, struct stat64 *buf COMMA int flags, buf COMMA flags)
WRAP_AT(int, faccessat, int mode COMMA int flags, mode COMMA flags)
WRAP_AT(int, statx, int flags COMMA unsigned int mask COMMA struct statx *buf, flags COMMA mask COMMA buf)

// ---------------------------------------------------------------------------------------------
// Small file helpers for the fake kernel; all paths here are under the root already.

static char *read_file(const char *path, size_t *size_out)
{
    const int fd = real_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    size_t size = 0, capacity = 4096;
    char *text = malloc(capacity + 1);
    while (text != NULL) {
        if (size == capacity) {
            char *bigger = realloc(text, capacity * 2 + 1);
            if (bigger == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            capacity *= 2;
        }
        const ssize_t n = read(fd, text + size, capacity - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(text);
            text = NULL;
            break;
        }
        if (n == 0)
            break;
        size += (size_t)n;
    }
    close(fd);
    if (text != NULL) {
        text[size] = '\0';
        if (size_out != NULL)
            *size_out = size;
    }
    return text;
}

static int write_file(const char *path, const char *content, mode_t mode)
{
    const int fd = real_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    const size_t length = strlen(content);
    const ssize_t n = write(fd, content, length);
    close(fd);
    return n == (ssize_t)length ? 0 : -1;
}

// Replaces a file by rename, so a reader sees the old text or the new, never half of it.
static int replace_file(const char *path, const char *content)
{
    char temporary[PATH_MAX];
    format_into(temporary, sizeof temporary, "%s.shim-%ld", path, (long)getpid());
    if (write_file(temporary, content, 0644) < 0)
        return -1;
    return rename(temporary, path);
}

static void remove_tree(const char *path)
{
    static DIR *(*next_opendir)(const char *);
    NEXT(next_opendir, "opendir");
    DIR *dir = next_opendir(path);
    if (dir != NULL) {
        const struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char child[PATH_MAX];
            format_into(child, sizeof child, "%s/%s", path, entry->d_name);
            if (entry->d_type == DT_DIR)
                remove_tree(child);
            else
                unlink(child);
        }
        closedir(dir);
    }
    rmdir(path);
}

static void make_directories(const char *path)
{
    char partial[PATH_MAX];
    format_into(partial, sizeof partial, "%s", path);
    for (char *slash = strchr(partial + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(partial, 0755);
        *slash = '/';
    }
    mkdir(partial, 0755);
}

// Module names compare with '-' and '_' as one character, as in the kernel.
static void normalize_name(char *name)
{
    for (char *c = name; *c != '\0'; c++)
        if (*c == '-')
            *c = '_';
}

// ---------------------------------------------------------------------------------------------
// Injected refusals: KMOD_TOOLS_SHIM_FAIL="insert:NAME:ERRNO remove:NAME:ERRNO ...", NAME may be "*".

static const struct {
    const char *name;
    int value;
} errno_names[] = {
    {"EPERM", EPERM},     {"ENOENT", ENOENT},   {"EIO", EIO},       {"ENOEXEC", ENOEXEC},
    {"EAGAIN", EAGAIN},   {"ENOMEM", ENOMEM},   {"EBUSY", EBUSY},   {"EEXIST", EEXIST},
    {"EINVAL", EINVAL},   {"ENOSPC", ENOSPC},   {"EFAULT", EFAULT}, {"ENOKEY", ENOKEY},
    {"EKEYREJECTED", EKEYREJECTED}, {"ETXTBSY", ETXTBSY}, {"ENOSYS", ENOSYS},
};

static const char *errno_name(int value)
{
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
        if (errno_names[i].value == value)
            return errno_names[i].name;
    return "E?";
}

// The errno the test wants for `operation` on `module`, or 0.
static int injected_failure(const char *operation, const char *module)
{
    const char *spec = getenv("KMOD_TOOLS_SHIM_FAIL");
    if (spec == NULL)
        return 0;
    char rule[256];
    while (*spec != '\0') {
        const size_t length = strcspn(spec, " \t,");
        if (length > 0 && length < sizeof rule) {
            memcpy(rule, spec, length);
            rule[length] = '\0';
            char *name = strchr(rule, ':');
            char *error = name != NULL ? strchr(name + 1, ':') : NULL;
            if (error != NULL) {
                *name++ = '\0';
                *error++ = '\0';
                normalize_name(name);
                if (strcmp(rule, operation) == 0 && (strcmp(name, "*") == 0 || strcmp(name, module) == 0)) {
                    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
                        if (strcmp(errno_names[i].name, error) == 0)
                            return errno_names[i].value;
                    return EINVAL;
                }
            }
        }
        spec += length;
        spec += strspn(spec, " \t,");
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// What the kernel reads from a module image: its name and declared parameters (.modinfo).

struct image_info {
    char name[64];
    const char *modinfo; // within the image
    size_t modinfo_size;
};

// The .modinfo section of an ELF64 relocatable object, as the kernel's loader finds it; false if
// the image is not one (the kernel answers ENOEXEC).
static bool parse_image(const unsigned char *image, size_t size, struct image_info *info)
{
    memset(info, 0, sizeof *info);
    if (size < sizeof(Elf64_Ehdr) || memcmp(image, ELFMAG, SELFMAG) != 0 || image[EI_CLASS] != ELFCLASS64)
        return false;
    Elf64_Ehdr header;
    memcpy(&header, image, sizeof header);
    if (header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shoff > size ||
        (size - header.e_shoff) / sizeof(Elf64_Shdr) < header.e_shnum || header.e_shstrndx >= header.e_shnum)
        return false;
    Elf64_Shdr names;
    memcpy(&names, image + header.e_shoff + header.e_shstrndx * sizeof(Elf64_Shdr), sizeof names);
    if (names.sh_offset > size || names.sh_size > size - names.sh_offset)
        return false;
    for (unsigned i = 0; i < header.e_shnum; i++) {
        Elf64_Shdr section;
        memcpy(&section, image + header.e_shoff + i * sizeof(Elf64_Shdr), sizeof section);
        if (section.sh_name >= names.sh_size || section.sh_offset > size || section.sh_size > size - section.sh_offset)
            continue;
        const char *section_name = (const char *)image + names.sh_offset + section.sh_name;
        if (strnlen(section_name, names.sh_size - section.sh_name) == names.sh_size - section.sh_name)
            continue;
        if (strcmp(section_name, ".modinfo") == 0) {
            info->modinfo = (const char *)image + section.sh_offset;
            info->modinfo_size = section.sh_size;
        }
    }
    // modpost writes name= into every module's .modinfo; the kernel takes the same name from
    // .gnu.linkonce.this_module, which these test modules do not have.
    for (size_t offset = 0; offset < info->modinfo_size;) {
        const char *entry = info->modinfo + offset;
        const size_t length = strnlen(entry, info->modinfo_size - offset);
        if (length > 5 && length < 5 + sizeof info->name && strncmp(entry, "name=", 5) == 0)
            memcpy(info->name, entry + 5, length - 5);
        offset += length + 1;
    }
    normalize_name(info->name);
    return info->name[0] != '\0' && strchr(info->name, '/') == NULL && strcmp(info->name, ".") != 0 &&
           strcmp(info->name, "..") != 0;
}

// The value a parameter shows in sysfs before anyone sets it, by its modinfo parmtype.
static const char *default_value(const char *type)
{
    static const char *const numeric[] = {"byte", "short", "ushort", "int", "uint", "long", "ulong", "ullong", "hexint"};
    for (size_t i = 0; i < sizeof numeric / sizeof numeric[0]; i++)
        if (strcmp(type, numeric[i]) == 0)
            return "0";
    if (strcmp(type, "bool") == 0 || strcmp(type, "invbool") == 0)
        return "N";
    if (strcmp(type, "charp") == 0)
        return "(null)";
    return "";
}

// ---------------------------------------------------------------------------------------------
// The fake kernel's state: ROOT/proc/modules and ROOT/sys/module/NAME/.

struct kernel {
    char root[PATH_MAX];
    char proc_modules[PATH_MAX];
    char sys_module[PATH_MAX];
    int lock_fd;
};

// Every change is made under a lock on ROOT/.kmod-tools-shim.lock: the kernel serialises module
// loads, and tests run helpers concurrently as the kernel does.
static bool kernel_open(struct kernel *kernel)
{
    size_t root_length = 0;
    const char *root = fake_root(&root_length);
    if (root == NULL)
        return false;
    format_into(kernel->root, sizeof kernel->root, "%.*s", (int)root_length, root);
    format_into(kernel->proc_modules, sizeof kernel->proc_modules, "%s/proc/modules", kernel->root);
    format_into(kernel->sys_module, sizeof kernel->sys_module, "%s/sys/module", kernel->root);
    char lock_path[PATH_MAX];
    format_into(lock_path, sizeof lock_path, "%s/.kmod-tools-shim.lock", kernel->root);
    kernel->lock_fd = real_open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (kernel->lock_fd >= 0)
        flock(kernel->lock_fd, LOCK_EX);
    return true;
}

static void kernel_close(struct kernel *kernel)
{
    if (kernel->lock_fd >= 0)
        close(kernel->lock_fd); // releases the lock
}

static bool modules_disabled(const struct kernel *kernel)
{
    char path[PATH_MAX];
    format_into(path, sizeof path, "%s/proc/sys/kernel/modules_disabled", kernel->root);
    char *text = read_file(path, NULL);
    const bool disabled = text != NULL && text[0] == '1';
    free(text);
    return disabled;
}

// One line of /proc/modules: NAME SIZE REFCOUNT USED-BY STATE ADDRESS [TAINTS].
struct module_line {
    char name[64];
    char size[32];
    char refcount[16];
    char used_by[2048];
    char rest[256];
};

struct module_list {
    struct module_line *lines;
    size_t count;
};

static bool next_field(const char **cursor, char *field, size_t size)
{
    const char *start = *cursor + strspn(*cursor, " \t");
    const size_t length = strcspn(start, " \t\n");
    if (length == 0 || length >= size)
        return false;
    memcpy(field, start, length);
    field[length] = '\0';
    *cursor = start + length;
    return true;
}

static void read_module_list(const struct kernel *kernel, struct module_list *list)
{
    list->lines = NULL;
    list->count = 0;
    char *text = read_file(kernel->proc_modules, NULL);
    if (text == NULL)
        return;
    for (char *line = text; *line != '\0';) {
        char *end = strchr(line, '\n');
        if (end != NULL)
            *end = '\0';
        struct module_line entry;
        memset(&entry, 0, sizeof entry);
        const char *cursor = line;
        if (next_field(&cursor, entry.name, sizeof entry.name) && next_field(&cursor, entry.size, sizeof entry.size) &&
            next_field(&cursor, entry.refcount, sizeof entry.refcount) &&
            next_field(&cursor, entry.used_by, sizeof entry.used_by)) {
            format_into(entry.rest, sizeof entry.rest, "%s", cursor + strspn(cursor, " \t"));
            struct module_line *bigger = realloc(list->lines, (list->count + 1) * sizeof *bigger);
            if (bigger != NULL) {
                list->lines = bigger;
                list->lines[list->count++] = entry;
            }
        }
        if (end == NULL)
            break;
        line = end + 1;
    }
    free(text);
}

static int write_module_list(const struct kernel *kernel, const struct module_list *list)
{
    size_t capacity = 1;
    for (size_t i = 0; i < list->count; i++)
        capacity += sizeof(struct module_line) + 8;
    char *text = malloc(capacity);
    if (text == NULL)
        return -1;
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < list->count; i++) {
        const struct module_line *line = &list->lines[i];
        used += (size_t)snprintf(text + used, capacity - used, "%s %s %s %s %s\n", line->name, line->size,
                                 line->refcount, line->used_by, line->rest);
    }
    const int result = replace_file(kernel->proc_modules, text);
    free(text);
    return result;
}

static struct module_line *find_module(const struct module_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->lines[i].name, name) == 0)
            return &list->lines[i];
    return NULL;
}

// Whether USED-BY ("-" or "a,b,[permanent],") names a module; flags in brackets do not count.
static bool has_holders(const char *used_by)
{
    for (const char *item = used_by; *item != '\0';) {
        const size_t length = strcspn(item, ",");
        if (length > 0 && !(length == 1 && item[0] == '-') && item[0] != '[')
            return true;
        item += length;
        item += *item == ',';
    }
    return false;
}

static void used_by_add(struct module_line *line, const char *holder)
{
    char updated[sizeof line->used_by];
    format_into(updated, sizeof updated, "%s%s,", strcmp(line->used_by, "-") == 0 ? "" : line->used_by, holder);
    format_into(line->used_by, sizeof line->used_by, "%s", updated);
}

// Removes `holder`; true if it was there.
static bool used_by_remove(struct module_line *line, const char *holder)
{
    char updated[sizeof line->used_by] = "";
    size_t used = 0;
    bool found = false;
    for (const char *item = line->used_by; *item != '\0';) {
        const size_t length = strcspn(item, ",");
        if (length == strlen(holder) && strncmp(item, holder, length) == 0)
            found = true;
        else if (length > 0 && !(length == 1 && item[0] == '-'))
            used += (size_t)snprintf(updated + used, sizeof updated - used, "%.*s,", (int)length, item);
        item += length;
        item += *item == ',';
    }
    format_into(line->used_by, sizeof line->used_by, "%s", used == 0 ? "-" : updated);
    return found;
}

static void set_refcount(const struct kernel *kernel, struct module_line *line, long delta)
{
    char *end = NULL;
    const long value = strtol(line->refcount, &end, 10);
    if (end == line->refcount || *end != '\0')
        return; // "-": a kernel without module unloading counts nothing
    format_into(line->refcount, sizeof line->refcount, "%ld", value + delta < 0 ? 0 : value + delta);
    char path[PATH_MAX];
    char text[32];
    format_into(path, sizeof path, "%s/%s/refcnt", kernel->sys_module, line->name);
    format_into(text, sizeof text, "%s\n", line->refcount);
    write_file(path, text, 0644);
}

// The modules.dep dependencies of `name` in the module tree of the fake root's kernel release.
// Returns a malloc'ed, space-separated list of module names (possibly empty), or NULL.
static char *dependencies_of(const struct kernel *kernel, const char *name)
{
    char path[PATH_MAX];
    format_into(path, sizeof path, "%s/proc/sys/kernel/osrelease", kernel->root);
    char *release = read_file(path, NULL);
    if (release == NULL)
        return NULL;
    release[strcspn(release, "\n")] = '\0';
    format_into(path, sizeof path, "%s/lib/modules/%s/modules.dep", kernel->root, release);
    free(release);
    char *text = read_file(path, NULL);
    if (text == NULL)
        return NULL;
    char *result = NULL;
    for (char *line = strtok(text, "\n"); line != NULL && result == NULL; line = strtok(NULL, "\n")) {
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        // "kernel/fs/ktfs.ko: kernel/lib/ktlib.ko": names are file names without the extensions.
        char module[64];
        const char *base = strrchr(line, '/') != NULL ? strrchr(line, '/') + 1 : line;
        format_into(module, sizeof module, "%.*s", (int)strcspn(base, "."), base);
        normalize_name(module);
        if (strcmp(module, name) != 0)
            continue;
        result = calloc(1, strlen(colon + 1) + 2);
        if (result == NULL)
            break;
        char *words = colon + 1;
        for (char *save = NULL, *word = strtok_r(words, " ", &save); word != NULL; word = strtok_r(NULL, " ", &save)) {
            base = strrchr(word, '/') != NULL ? strrchr(word, '/') + 1 : word;
            format_into(module, sizeof module, "%.*s", (int)strcspn(base, "."), base);
            normalize_name(module);
            strcat(strcat(result, module), " ");
        }
    }
    free(text);
    return result != NULL ? result : calloc(1, 1);
}

// The kernel's parse_args(): PARAM[=VALUE] words split at spaces outside double quotes, and quotes
// around a value (or the whole word) dropped. Calls `found` for each word.
static void for_each_option(const char *options, void (*found)(const char *param, const char *value, void *data),
                            void *data)
{
    char word[1024];
    const char *cursor = options;
    while (*cursor != '\0') {
        cursor += strspn(cursor, " ");
        if (*cursor == '\0')
            break;
        size_t length = 0;
        bool in_quotes = false;
        for (; cursor[length] != '\0' && (in_quotes || cursor[length] != ' '); length++)
            if (cursor[length] == '"')
                in_quotes = !in_quotes;
        format_into(word, sizeof word, "%.*s", (int)length, cursor);
        cursor += length;
        char *param = word;
        if (param[0] == '"') { // "param=value with spaces"
            param++;
            const size_t n = strlen(param);
            if (n > 0 && param[n - 1] == '"')
                param[n - 1] = '\0';
        }
        char *equals = strchr(param, '=');
        const char *value = "";
        if (equals != NULL) {
            *equals = '\0';
            char *raw = equals + 1;
            const size_t n = strlen(raw);
            if (n >= 2 && raw[0] == '"' && raw[n - 1] == '"') {
                raw[n - 1] = '\0';
                raw++;
            }
            value = raw;
        }
        normalize_name(param);
        if (param[0] != '\0' && strchr(param, '/') == NULL && strcmp(param, ".") != 0 && strcmp(param, "..") != 0)
            found(param, value, data);
    }
}

static void write_parameter_file(const char *directory, const char *param, const char *value)
{
    char path[PATH_MAX];
    char text[1100];
    format_into(path, sizeof path, "%s/%s", directory, param);
    format_into(text, sizeof text, "%s\n", value);
    write_file(path, text, 0644);
}

// A load-time option sets a parameter the module declares; the kernel ignores the others, with a
// line in its log ("Unknown parameter"), and so does the shim.
static void set_declared_parameter(const char *param, const char *value, void *data)
{
    const char *directory = data;
    char path[PATH_MAX];
    struct stat st;
    static int (*next_stat)(const char *, struct stat *);
    NEXT(next_stat, "stat");
    if (format_into(path, sizeof path, "%s/%s", directory, param) && next_stat(path, &st) == 0)
        write_parameter_file(directory, param, value);
}

// The next name of a space-separated list into `word`; false at the end.
static bool next_word(const char **cursor, char word[64])
{
    const char *start = *cursor + strspn(*cursor, " ");
    const size_t length = strcspn(start, " ");
    if (length == 0)
        return false;
    format_into(word, 64, "%.*s", (int)length, start);
    *cursor = start + length;
    return true;
}

static void make_module_directory(const struct kernel *kernel, const struct image_info *info, const char *options)
{
    char directory[PATH_MAX];
    char path[PATH_MAX];
    format_into(directory, sizeof directory, "%s/%s", kernel->sys_module, info->name);
    make_directories(directory);
    format_into(path, sizeof path, "%s/initstate", directory);
    write_file(path, "live\n", 0644);
    format_into(path, sizeof path, "%s/refcnt", directory);
    write_file(path, "0\n", 0644);
    format_into(path, sizeof path, "%s/holders", directory);
    mkdir(path, 0755);
    format_into(path, sizeof path, "%s/parameters", directory);
    mkdir(path, 0755);
    // Every declared parameter shows its default, then the options given set theirs.
    for (size_t offset = 0; offset < info->modinfo_size;) {
        const char *entry = info->modinfo + offset;
        const size_t length = strnlen(entry, info->modinfo_size - offset);
        char parmtype[256];
        if (length > 9 && length < sizeof parmtype && strncmp(entry, "parmtype=", 9) == 0) {
            format_into(parmtype, sizeof parmtype, "%.*s", (int)(length - 9), entry + 9);
            char *colon = strchr(parmtype, ':');
            if (colon != NULL) {
                *colon = '\0';
                normalize_name(parmtype);
                write_parameter_file(path, parmtype, default_value(colon + 1));
            }
        }
        offset += length + 1;
    }
    for_each_option(options, set_declared_parameter, path);
}

// Lists the module in /proc/modules, newest first as the kernel does, and makes it a holder of each
// loaded dependency: using a module's symbols takes a reference on it.
static void list_module(const struct kernel *kernel, struct module_list *list, const char *name, size_t size,
                        const char *dependencies)
{
    struct module_line *bigger = realloc(list->lines, (list->count + 1) * sizeof *bigger);
    if (bigger == NULL)
        return;
    list->lines = bigger;
    memmove(list->lines + 1, list->lines, list->count * sizeof *bigger);
    list->count++;
    struct module_line *line = &list->lines[0];
    memset(line, 0, sizeof *line);
    format_into(line->name, sizeof line->name, "%s", name);
    format_into(line->size, sizeof line->size, "%zu", size);
    format_into(line->refcount, sizeof line->refcount, "0");
    format_into(line->used_by, sizeof line->used_by, "-");
    format_into(line->rest, sizeof line->rest, "Live 0x0000000000000000");
    char dependency[64];
    for (const char *cursor = dependencies; next_word(&cursor, dependency);) {
        struct module_line *held = find_module(list, dependency);
        if (held == NULL)
            continue;
        used_by_add(held, name);
        set_refcount(kernel, held, +1);
        char link[PATH_MAX];
        char target[PATH_MAX];
        format_into(link, sizeof link, "%s/%s/holders/%s", kernel->sys_module, dependency, name);
        format_into(target, sizeof target, "../../%s", name);
        symlink(target, link);
    }
    write_module_list(kernel, list);
}

// What init_module()/finit_module() do, on the fake root. Returns 0 or an errno.
static int fake_insert(const unsigned char *image, size_t size, const char *options)
{
    struct image_info info;
    if (!parse_image(image, size, &info)) {
        shim_log("insert ? ENOEXEC%s%s", options[0] != '\0' ? " " : "", options);
        return ENOEXEC;
    }
    struct kernel kernel;
    if (!kernel_open(&kernel)) {
        shim_log("insert %s EPERM%s%s", info.name, options[0] != '\0' ? " " : "", options);
        return EPERM; // no fake root: never the real kernel
    }
    struct module_list list;
    read_module_list(&kernel, &list);
    char *dependencies = dependencies_of(&kernel, info.name);
    const bool loaded = find_module(&list, info.name) != NULL;

    int error = injected_failure("insert", info.name);
    // An injected EEXIST stands for a concurrent loader that got there first: the module goes in,
    // and this caller is told it was there already.
    const bool lost_race = error == EEXIST;
    if (error == 0 && modules_disabled(&kernel))
        error = EPERM;
    if (error == 0 && loaded)
        error = EEXIST;
    // A dependency missing means symbols nothing provides: "Unknown symbol in module" (ENOENT).
    char dependency[64];
    for (const char *cursor = dependencies != NULL ? dependencies : ""; error == 0 && next_word(&cursor, dependency);)
        if (find_module(&list, dependency) == NULL)
            error = ENOENT;
    if (error == 0 || (lost_race && !loaded)) {
        make_module_directory(&kernel, &info, options);
        list_module(&kernel, &list, info.name, size, dependencies != NULL ? dependencies : "");
    }
    free(dependencies);
    free(list.lines);
    kernel_close(&kernel);
    shim_log("insert %s %s%s%s", info.name, error == 0 ? "ok" : errno_name(error), options[0] != '\0' ? " " : "",
             options);
    // KMOD_TOOLS_SHIM_KILL_AFTER_INSERT=NAME: the caller is killed the moment NAME is in, before
    // it can record anything, as a SIGKILL between insertion and record would.
    const char *kill_after = getenv("KMOD_TOOLS_SHIM_KILL_AFTER_INSERT");
    if (error == 0 && kill_after != NULL) {
        char victim[64];
        format_into(victim, sizeof victim, "%s", kill_after);
        normalize_name(victim);
        if (strcmp(victim, info.name) == 0 || strcmp(victim, "*") == 0)
            raise(SIGKILL);
    }
    return error;
}

// What delete_module() does, on the fake root. Returns 0 or an errno.
static int fake_remove(const char *requested)
{
    char name[64];
    format_into(name, sizeof name, "%s", requested);
    normalize_name(name);
    struct kernel kernel;
    if (!kernel_open(&kernel)) {
        shim_log("remove %s EPERM", name);
        return EPERM;
    }
    int error = injected_failure("remove", name);
    // ENOENT stands for someone else unloading it first: it goes, and the caller is told it was gone.
    const bool lost_race = error == ENOENT;
    if (error == 0 && modules_disabled(&kernel))
        error = EPERM;
    struct module_list list;
    read_module_list(&kernel, &list);
    struct module_line *line = find_module(&list, name);
    if (error == 0 && line == NULL)
        error = ENOENT;
    // As kernel/module/main.c: holders or references answer EWOULDBLOCK (O_NONBLOCK), a module
    // without an exit function or not live EBUSY.
    if (error == 0 && (strstr(line->used_by, "[permanent]") != NULL || strncmp(line->rest, "Live", 4) != 0))
        error = EBUSY;
    if (error == 0 && (has_holders(line->used_by) || strcmp(line->refcount, "0") != 0))
        error = EWOULDBLOCK;
    if ((error == 0 || lost_race) && line != NULL) {
        for (size_t i = 0; i < list.count; i++)
            if (used_by_remove(&list.lines[i], name)) {
                set_refcount(&kernel, &list.lines[i], -1);
                char link[PATH_MAX];
                format_into(link, sizeof link, "%s/%s/holders/%s", kernel.sys_module, list.lines[i].name, name);
                unlink(link);
            }
        const size_t index = (size_t)(line - list.lines);
        memmove(line, line + 1, (list.count - index - 1) * sizeof *line);
        list.count--;
        write_module_list(&kernel, &list);
        char directory[PATH_MAX];
        format_into(directory, sizeof directory, "%s/%s", kernel.sys_module, name);
        remove_tree(directory);
    }
    free(list.lines);
    kernel_close(&kernel);
    shim_log("remove %s %s", name, error == 0 ? "ok" : errno_name(error));
    return error;
}

// ---------------------------------------------------------------------------------------------
// The module calls, however libkmod reaches them: glibc's init_module() and delete_module(), and
// syscall(__NR_finit_module, ...) since glibc 2.36 has no finit_module().

static long fail_with(int error)
{
    if (error == 0)
        return 0;
    errno = error;
    return -1;
}

static long shim_init_module(const void *image, unsigned long size, const char *options)
{
    return fail_with(fake_insert(image, size, options != NULL ? options : ""));
}

static long shim_finit_module(int fd, const char *options, int flags)
{
    (void)flags;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    if (st.st_size <= 0)
        return fail_with(ENOEXEC);
    void *image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (image == MAP_FAILED)
        return -1;
    const int error = fake_insert(image, (size_t)st.st_size, options != NULL ? options : "");
    munmap(image, (size_t)st.st_size);
    return fail_with(error);
}

static long shim_delete_module(const char *name, unsigned int flags)
{
    (void)flags;
    return fail_with(fake_remove(name));
}

SHIM_EXPORT long init_module(const void *image, unsigned long size, const char *options)
{
    return shim_init_module(image, size, options);
}

SHIM_EXPORT long finit_module(int fd, const char *options, int flags) { return shim_finit_module(fd, options, flags); }

SHIM_EXPORT long delete_module(const char *name, unsigned int flags) { return shim_delete_module(name, flags); }

// syscall() for the module calls; every other number goes on to libc's syscall() with its six
// argument registers, which is all the kernel ever reads (callers passing fewer leave the rest unused).
SHIM_EXPORT long syscall(long number, ...)
{
    va_list args;
    va_start(args, number);
    long result;
    if (number == __NR_finit_module) {
        const int fd = va_arg(args, int);
        const char *options = va_arg(args, const char *);
        const int flags = va_arg(args, int);
        result = shim_finit_module(fd, options, flags);
    } else if (number == __NR_init_module) {
        const void *image = va_arg(args, const void *);
        const unsigned long size = va_arg(args, unsigned long);
        const char *options = va_arg(args, const char *);
        result = shim_init_module(image, size, options);
    } else if (number == __NR_delete_module) {
        const char *name = va_arg(args, const char *);
        const unsigned int flags = va_arg(args, unsigned int);
        result = shim_delete_module(name, flags);
    } else {
        static long (*fn)(long, ...);
        NEXT(fn, "syscall");
        long a[6];
        for (int i = 0; i < 6; i++)
            a[i] = va_arg(args, long);
        result = fn(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    va_end(args);
    return result;
}

// ---------------------------------------------------------------------------------------------
// The network interfaces' drivers, which kmod-reap asks of the kernel with SIOCETHTOOL for the names
// it lists under ROOT/sys/class/net: the fake kernel answers from that tree, as the real one would
// for a physical interface, by the driver its device is bound to (device/driver). An interface
// without a device gets EOPNOTSUPP, as loopback does; no name ever reaches the host's kernel.

static int fake_ethtool(struct ifreq *request)
{
    struct ethtool_drvinfo info;
    memcpy(&info, request->ifr_data, sizeof info.cmd);
    if (info.cmd != ETHTOOL_GDRVINFO)
        return EOPNOTSUPP;
    size_t root_length = 0;
    const char *root = fake_root(&root_length);
    char name[IFNAMSIZ + 1];
    char link[PATH_MAX];
    char target[PATH_MAX];
    static ssize_t (*next_readlink)(const char *, char *, size_t);
    NEXT(next_readlink, "readlink");
    format_into(name, sizeof name, "%.*s", IFNAMSIZ, request->ifr_name);
    if (!format_into(link, sizeof link, "%.*s/sys/class/net/%s/device/driver", (int)root_length, root, name))
        return ENODEV;
    const ssize_t n = next_readlink(link, target, sizeof target - 1);
    if (n < 0)
        return EOPNOTSUPP;
    target[n] = '\0';
    const char *driver = strrchr(target, '/') != NULL ? strrchr(target, '/') + 1 : target;
    memset(&info, 0, sizeof info);
    info.cmd = ETHTOOL_GDRVINFO;
    format_into(info.driver, sizeof info.driver, "%s", driver);
    memcpy(request->ifr_data, &info, sizeof info);
    shim_log("ethtool %s %s", name, info.driver);
    return 0;
}

SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
    static int (*fn)(int, unsigned long, ...);
    NEXT(fn, "ioctl");
    va_list args;
    va_start(args, request);
    void *argument = va_arg(args, void *);
    va_end(args);
    size_t root_length = 0;
    if (request == SIOCETHTOOL && fake_root(&root_length) != NULL)
        return (int)fail_with(fake_ethtool(argument));
    return fn(fd, request, argument);
}

// ---------------------------------------------------------------------------------------------
// syslog: with a fake root, messages go to the shim log as "syslog FACILITY.LEVEL IDENT: TEXT"
// instead of the host's /dev/log, where a test could neither read them nor should write.

static const char *syslog_ident = "";
static int syslog_facility = 1 << 3; // LOG_USER

SHIM_EXPORT void openlog(const char *ident, int option, int facility)
{
    static void (*fn)(const char *, int, int);
    NEXT(fn, "openlog");
    size_t root_length = 0;
    if (fake_root(&root_length) == NULL) {
        fn(ident, option, facility);
        return;
    }
    syslog_ident = ident != NULL ? ident : "";
    syslog_facility = facility;
}

static void fake_syslog(int priority, const char *format_string, va_list args)
{
    static const char *const levels[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    static const struct {
        int value;
        const char *name;
    } facilities[] = {{0 << 3, "kern"}, {1 << 3, "user"}, {3 << 3, "daemon"}, {4 << 3, "auth"},
                      {10 << 3, "authpriv"}, {16 << 3, "local0"}};
    const int facility = (priority & ~7) != 0 ? priority & ~7 : syslog_facility;
    const char *facility_name = "?";
    for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
        if (facilities[i].value == facility)
            facility_name = facilities[i].name;
    char text[2048];
    vsnprintf(text, sizeof text, format_string, args);
    shim_log("syslog %s.%s %s: %s", facility_name, levels[priority & 7], syslog_ident, text);
}

SHIM_EXPORT void vsyslog(int priority, const char *format_string, va_list args)
{
    static void (*fn)(int, const char *, va_list);
    NEXT(fn, "vsyslog");
    size_t root_length = 0;
    if (fake_root(&root_length) == NULL)
        fn(priority, format_string, args);
    else
        fake_syslog(priority, format_string, args);
}

SHIM_EXPORT void syslog(int priority, const char *format_string, ...)
{
    va_list args;
    va_start(args, format_string);
    vsyslog(priority, format_string, args);
    va_end(args);
}

// What syslog() becomes under _FORTIFY_SOURCE.
SHIM_EXPORT void __syslog_chk(int priority, int flag, const char *format_string, ...)
{
    (void)flag;
    va_list args;
    va_start(args, format_string);
    vsyslog(priority, format_string, args);
    va_end(args);
}

SHIM_EXPORT void __vsyslog_chk(int priority, int flag, const char *format_string, va_list args)
{
    (void)flag;
    vsyslog(priority, format_string, args);
}

SHIM_EXPORT void closelog(void)
{
    static void (*fn)(void);
    NEXT(fn, "closelog");
    size_t root_length = 0;
    if (fake_root(&root_length) == NULL)
        fn();
}

// ---------------------------------------------------------------------------------------------
// The fake kernel's clock since boot.

// The fake kernel has been up a day longer than the host: a test ages an idle clock or a record by
// minutes, and the tools rightly refuse a time before the boot as corrupt state, so on a host booted
// a minute ago (a fresh CI machine) the real CLOCK_BOOTTIME would leave no room for that.
#define SHIM_EXTRA_UPTIME_SECONDS 86400

SHIM_EXPORT int clock_gettime(clockid_t clock, struct timespec *now)
{
    static int (*fn)(clockid_t, struct timespec *);
    NEXT(fn, "clock_gettime");
    const int result = fn(clock, now);
    size_t root_length;
    if (result == 0 && (clock == CLOCK_BOOTTIME || clock == CLOCK_BOOTTIME_ALARM) && fake_root(&root_length) != NULL)
        now->tv_sec += SHIM_EXTRA_UPTIME_SECONDS;
    return result;
}

// The shim stands in for the kernel of the tool under test only: what the tool runs (an install
// command of modprobe.d) runs without it, and a kmod-tool started there finds no shim and refuses.
// KMOD_TOOLS_SHIM_KEEP_PRELOAD=1 keeps it for a launcher that is a program of its own, as valgrind's
// is (tests/bench-helper): the launcher must pass it on to the tool it runs.
__attribute__((constructor)) static void shim_start(void)
{
    const char *keep = getenv("KMOD_TOOLS_SHIM_KEEP_PRELOAD");
    if (keep == NULL || strcmp(keep, "1") != 0)
        unsetenv("LD_PRELOAD");
}
