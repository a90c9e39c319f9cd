// SPDX-License-Identifier: LGPL-2.1-or-later
// vm-socket FAMILY [TYPE [PROTOCOL]]: opens one socket, so a VM scenario can make the kernel request
// the module of an unloaded protocol family (net-pf-N). busybox has no applet that does this.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv)
{
    if (argc < 2 || argc > 4) {
        std::fprintf(stderr, "usage: vm-socket FAMILY [TYPE [PROTOCOL]]\n");
        return 2;
    }
    const int family = std::atoi(argv[1]);
    const int type = argc > 2 ? std::atoi(argv[2]) : SOCK_DGRAM;
    const int protocol = argc > 3 ? std::atoi(argv[3]) : 0;
    const int fd = ::socket(family, type, protocol);
    if (fd < 0) {
        std::printf("socket(%d, %d, %d): %s\n", family, type, protocol, std::strerror(errno));
        return 1;
    }
    std::printf("socket(%d, %d, %d): ok\n", family, type, protocol);
    ::close(fd);
    return 0;
}
