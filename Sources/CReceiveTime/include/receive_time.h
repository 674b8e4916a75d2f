// The kernel's receive time of every read libcurl makes, taken in the read itself, and no system call for a question
// the read already answered.
//
// libcurl reads a socket with recv(2) and has no hook around it. This target defines `recv` and `poll` for the
// process; the executable's definitions come before libc's in the dynamic linker's search order, so libcurl's calls
// reach them. On a thread that asked for receipts (the client's loop threads):
// - `recv` reads with recvmsg(2) and keeps the SO_TIMESTAMPNS control message the kernel attaches, so the receive
//   time costs no system call of its own (it used to cost a one-byte MSG_PEEK before every read).
// - After every read libcurl asks poll(2), with a zero timeout, whether the socket has more (its "data pending"
//   check). When the read just before returned less than it asked for, the kernel had nothing more queued at that
//   moment, and `poll` says so without the system call (only that: a question about writing, with a
//   timeout or about several sockets goes to the kernel): that is what the kernel would have answered a few
//   microseconds earlier. Bytes (or an end of stream, or an error) that come in between keep the socket readable,
//   so the loop's level-triggered epoll_wait hands it back at once; nothing is lost or stamped late by it (their
//   receive time is the kernel's). Any other poll is the kernel's (ppoll(2)).
// On every other thread `recv` is recvfrom(2) with no address, which is what recv(2) is, and `poll` is ppoll(2).
#ifndef TPBENCH_RECEIVE_TIME_H
#define TPBENCH_RECEIVE_TIME_H

#include <stdint.h>

/// The last successful read on the calling thread, once it asked for receipts.
typedef struct {
    /// The socket read.
    int32_t socket;
    /// The kernel's receive time of the last packet the read took bytes from (CLOCK_REALTIME ns): every byte read
    /// had arrived by then. 1 when the packets carried no time (SO_TIMESTAMPNS was not on when they came).
    uint64_t realtime_ns;
    /// Reads so far: a reader sees whether a read happened since it last looked.
    uint64_t reads;
} tp_receipt;

/// Starts keeping receipts for the calling thread's reads and returns where the last one is kept (valid for the
/// thread's life; only that thread may read it).
tp_receipt *_Nonnull tp_receipts_start(void);
/// Stops keeping them: reads on this thread are plain recvfrom(2) again.
void tp_receipts_stop(void);
/// The loop finished handing a socket to libcurl: the next poll is answered by the kernel, whatever was read.
void tp_receipts_forget_drained(void);
/// Whether this process's `recv` and `poll` are the ones above (another definition earlier in the search order would take
/// libcurl's calls).
int tp_receipts_interposed(void);

#endif
