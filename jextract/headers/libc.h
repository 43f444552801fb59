/*
 * The libc surface panda calls: memory (memfd, mmap), fds, sockets with SCM_RIGHTS,
 * eventfd/poll/epoll, cpu affinity, errno. Input to scripts/jextract (package
 * dev.panda.jextract.libc, header class Libc). Compiled with -D_GNU_SOURCE.
 */
#include <features.h>

/*
 * With __USE_GNU, glibc declares bind/connect/accept/... with transparent unions
 * (__SOCKADDR_ARG), which jextract would turn into by-value union parameters. Read
 * <sys/socket.h> as plain POSIX instead, so they take a struct sockaddr pointer. This
 * hides only the GNU extras of that header (accept4, sendmmsg/recvmmsg, struct ucred,
 * SCM_CREDENTIALS), which panda does not use.
 */
#undef __USE_GNU
#include <sys/socket.h>
#define __USE_GNU 1

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <poll.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/un.h>
