// See include/receive_time.h.
#define _GNU_SOURCE
#include "receive_time.h"

#include <dlfcn.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

/* initial-exec: the code is linked into an executable, so each access is one %fs-relative load, not a call to
   __tls_get_addr (the default for position-independent code, which showed in the loop's profile). */
#define TP_THREAD_LOCAL static __thread __attribute__((tls_model("initial-exec")))

TP_THREAD_LOCAL tp_receipt receipt;
TP_THREAD_LOCAL int keeping;
/* The socket the last read on this thread emptied (it returned less than asked: a TCP read copies until the queue is
   empty or the buffer full), until the next read or poll on this thread; -1 when none. libcurl calls recv only on its
   TCP connections (its datagram reads, TFTP's and QUIC's, use recvfrom/recvmsg), where a short read means that. */
TP_THREAD_LOCAL int drained = -1;

tp_receipt *_Nonnull tp_receipts_start(void) {
    keeping = 1;
    return &receipt;
}

void tp_receipts_stop(void) {
    keeping = 0;
    drained = -1;
}

void tp_receipts_forget_drained(void) { drained = -1; }

ssize_t recv(int fd, void *buffer, size_t length, int flags) {
    if (!keeping) return recvfrom(fd, buffer, length, flags, NULL, NULL);
    struct iovec iov = {buffer, length};
    union { char bytes[CMSG_SPACE(sizeof(struct timespec))]; struct cmsghdr align; } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    ssize_t n = recvmsg(fd, &message, flags);
    drained = n > 0 && (size_t)n < length && !(flags & MSG_PEEK) ? fd : -1;
    if (n <= 0) return n;
    uint64_t at = 1;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&message); h; h = CMSG_NXTHDR(&message, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_TIMESTAMPNS) continue;
        struct timespec stamp;
        memcpy(&stamp, CMSG_DATA(h), sizeof stamp);
        at = (uint64_t)stamp.tv_sec * 1000000000ull + (uint64_t)stamp.tv_nsec;
        if (at < 2) at = 1;
        break;
    }
    receipt.socket = fd;
    receipt.realtime_ns = at;
    receipt.reads += 1;
    return n;
}

int poll(struct pollfd *fds, nfds_t count, int timeout) {
    /* Only the question a read answered: is there more to read, now? (Writability is never answered here.) */
    if (keeping && count == 1 && timeout == 0 && fds[0].fd >= 0 && fds[0].fd == drained &&
        !(fds[0].events & (POLLOUT | POLLWRNORM | POLLWRBAND))) {
        drained = -1;
        fds[0].revents = 0;
        return 0;
    }
    drained = -1;
    struct timespec wait, *until = NULL;
    if (timeout >= 0) {
        wait.tv_sec = timeout / 1000;
        wait.tv_nsec = (long)(timeout % 1000) * 1000000L;
        until = &wait;
    }
    return ppoll(fds, count, until, NULL);
}

int tp_receipts_interposed(void) {
    return dlsym(RTLD_DEFAULT, "recv") == (void *)&recv && dlsym(RTLD_DEFAULT, "poll") == (void *)&poll;
}
