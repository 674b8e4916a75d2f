// Typed wrappers for libcurl's variadic API, plus the Linux calls Swift's Glibc module lacks (epoll, eventfd).
// Swift cannot call C variadic functions, so every setopt/getinfo argument kind gets one inline wrapper.
#ifndef TPBENCH_CCURL_SHIM_H
#define TPBENCH_CCURL_SHIM_H

#include <curl/curl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <errno.h>
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#endif
#include <sys/resource.h>
#include <malloc.h>

typedef size_t (*tp_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*tp_socket_callback)(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
typedef int (*tp_timer_callback)(CURLM *multi, long timeout_ms, void *userp);
typedef int (*tp_prereq_callback)(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port);
static inline CURLcode tp_easy_setopt_prereq_callback(CURL *h, tp_prereq_callback v) {
    return curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, v);
}

static inline CURLcode tp_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT); }
/* A non-blocking CLOCK_MONOTONIC timerfd, armed at absolute nanosecond deadlines (the ground-truth server). */
static inline int tp_timerfd_create(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }
static inline int tp_timerfd_arm(int fd, uint64_t deadline_ns) {
    struct itimerspec spec = {{0, 0}, {0, 0}};
    spec.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ull);
    spec.it_value.tv_nsec = (long)(deadline_ns % 1000000000ull);
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1; /* 0 disarms */
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL);
}
static inline void tp_timerfd_drain(int fd) { uint64_t n; (void)read(fd, &n, sizeof n); }
/* Pins the calling thread to one CPU (0 or -errno); the ground-truth server keeps off the client's core. */
#include <sys/syscall.h>
static inline int tp_pin_current_thread(int cpu) {
    unsigned long mask[16] = {0};
    if (cpu < 0 || cpu >= (int)(8 * sizeof mask)) return -EINVAL;
    mask[cpu / (8 * sizeof(unsigned long))] |= 1UL << (cpu % (8 * sizeof(unsigned long)));
    return syscall(SYS_sched_setaffinity, 0, sizeof mask, mask) == 0 ? 0 : -errno;
}
/* Kernel receive times. SO_TIMESTAMPNS makes the kernel stamp each packet as it reaches the host (for loopback, when
 * the sender's packet is queued for delivery), before any wait for a softirq, a CPU or the client's loop; the reads
 * in Sources/CReceiveTime collect them. */
static inline int tp_enable_receive_times(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0 ? 0 : -errno;
}
/* A TCP connection's ports as (local << 16 | remote), the key libcurl's pre-request callback can be matched with;
 * 0 when the socket is not a connected IPv4/IPv6 socket. */
#include <netinet/in.h>
static inline uint32_t tp_socket_ports(int fd) {
    struct sockaddr_storage local, remote;
    socklen_t length = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &length) != 0) return 0;
    length = sizeof remote;
    if (getpeername(fd, (struct sockaddr *)&remote, &length) != 0) return 0;
    uint16_t l, r;
    if (local.ss_family == AF_INET && remote.ss_family == AF_INET) {
        l = ntohs(((struct sockaddr_in *)&local)->sin_port);
        r = ntohs(((struct sockaddr_in *)&remote)->sin_port);
    } else if (local.ss_family == AF_INET6 && remote.ss_family == AF_INET6) {
        l = ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
        r = ntohs(((struct sockaddr_in6 *)&remote)->sin6_port);
    } else {
        return 0;
    }
    return ((uint32_t)l << 16) | r;
}
/* CLOCK_REALTIME − CLOCK_MONOTONIC (ns), read back to back: converts the kernel's receive times to tpbench's clock. */
static inline int64_t tp_realtime_offset_ns(void) {
    struct timespec real, mono;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    return ((int64_t)real.tv_sec - (int64_t)mono.tv_sec) * 1000000000ll + ((int64_t)real.tv_nsec - (int64_t)mono.tv_nsec);
}
/* Launching a server under a supervisor, so nothing outlives tpbench (tpbench compare's `launch:`).
 *
 * tp_launch forks a supervisor (S), which forks the server (P) into a process group of its own and execs it. S holds
 * the read end of a pipe whose write end only tpbench has: when tpbench writes a byte, closes it, or dies in any way
 * (SIGKILL included: the kernel closes its descriptors), S sends `stop_signal` to P's whole group, waits up to
 * `grace_ms`, then SIGKILLs the group, reaps P and exits with P's status (exit code, or 128 + signal). When P exits
 * on its own, S SIGKILLs what is left of its group and exits the same way. P also gets PR_SET_PDEATHSIG(SIGKILL)
 * from S. Between fork and exec only async-signal-safe calls are made; everything is prepared by the caller.
 * Returns S's pid (and the pipe's write end in *control) or -errno. */
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
static inline void tp_launch_close_from(int first) {
    syscall(SYS_close_range, (unsigned)first, ~0U, 0);
}
static inline int tp_launch(const char *path, char *const argv[], char *const envp[], const char *cwd, int log_fd,
                            int stop_signal, int grace_ms, int *control) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -errno;
    pid_t supervisor = fork();
    if (supervisor < 0) { int e = errno; close(fds[0]); close(fds[1]); return -e; }
    if (supervisor > 0) {
        close(fds[0]);
        *control = fds[1];
        return supervisor;
    }
    /* S: keep the pipe's read end as 3 and the log as 4, nothing else. */
    signal(SIGINT, SIG_IGN);   /* Ctrl-C reaches tpbench's group; S stops the server when tpbench says or dies */
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    if (dup2(fds[0], 3) < 0 || dup2(log_fd, 4) < 0) _exit(126);
    tp_launch_close_from(5);
    pid_t server = fork();
    if (server < 0) _exit(126);
    if (server == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) { dup2(null, 0); }
        dup2(4, 1);
        dup2(4, 2);
        tp_launch_close_from(3);
        if (cwd && cwd[0] && chdir(cwd) != 0) _exit(126);
        execve(path, argv, envp);
        _exit(127);
    }
    setpgid(server, server);
    close(4);
    int status = 0, stopping = 0;
    for (;;) {
        struct pollfd p = {3, POLLIN, 0};
        int n = poll(&p, 1, 50);
        pid_t done = waitpid(server, &status, WNOHANG);
        if (done == server) break;
        if (n > 0) { stopping = 1; break; }  /* a byte, EOF (tpbench closed it or died) or an error: stop */
    }
    if (stopping) {
        kill(-server, stop_signal);
        struct timespec tick = {0, 20 * 1000000};
        int waited = 0, reaped = 0;
        while (waited < grace_ms) {
            if (waitpid(server, &status, WNOHANG) == server) { reaped = 1; break; }
            nanosleep(&tick, NULL);
            waited += 20;
        }
        kill(-server, SIGKILL);
        if (!reaped) waitpid(server, &status, 0);
    } else {
        kill(-server, SIGKILL);  /* the server exited on its own: its children go with it */
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) _exit(128 + WTERMSIG(status));
    _exit(125);
}
/* Whether a process group has any member left (kill with signal 0). */
static inline int tp_process_group_alive(int pgid) { return kill(-pgid, 0) == 0 || errno == EPERM; }
/* Non-blocking reap: the exit status of pid (exit code, or 128 + signal) if it ended, -1 if it runs, -2 on error. */
static inline int tp_reap(int pid, int block) {
    int status = 0;
    pid_t done = waitpid(pid, &status, block ? 0 : WNOHANG);
    if (done == 0) return -1;
    if (done < 0) return -2;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -2;
}
/* The calling thread's time spent runnable but waiting for a CPU (ns; the second field of
   /proc/thread-self/schedstat), or UINT64_MAX where the kernel does not report it. */
static inline uint64_t tp_thread_run_delay_ns(void) {
    char text[96];
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return UINT64_MAX;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return UINT64_MAX;
    text[n] = 0;
    char *p = text;
    while (*p && *p != ' ') p++;          /* skip the first field: time on the CPU */
    if (*p != ' ') return UINT64_MAX;
    uint64_t value = 0;
    for (p++; *p >= '0' && *p <= '9'; p++) value = value * 10 + (uint64_t)(*p - '0');
    return value;
}
/* accept(2) of a non-blocking, close-on-exec socket (accept4 needs _GNU_SOURCE, which Swift's Glibc lacks). */
static inline int tp_accept_nonblocking(int fd) {
    int client = accept(fd, NULL, NULL);
    if (client >= 0) {
        fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK);
        fcntl(client, F_SETFD, FD_CLOEXEC);
    }
    return client;
}
static inline const curl_version_info_data *tp_version_info(void) { return curl_version_info(CURLVERSION_NOW); }

static inline CURLcode tp_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tp_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tp_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tp_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tp_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode tp_easy_setopt_data_callback(CURL *h, CURLoption o, tp_data_callback v) {
    return curl_easy_setopt(h, o, v);
}

static inline CURLcode tp_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode tp_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode tp_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode tp_easy_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }

static inline CURLMcode tp_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode tp_multi_setopt_pointer(CURLM *m, CURLMoption o, void *v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode tp_multi_setopt_socket_callback(CURLM *m, tp_socket_callback v) {
    return curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, v);
}
static inline CURLMcode tp_multi_setopt_timer_callback(CURLM *m, tp_timer_callback v) {
    return curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, v);
}

static inline CURLcode tp_msg_result(const CURLMsg *m) { return m->data.result; }
static inline int tp_msg_is_done(const CURLMsg *m) { return m->msg == CURLMSG_DONE; }

static inline curl_socket_t tp_socket_timeout(void) { return CURL_SOCKET_TIMEOUT; }

/// Monotonic time in nanoseconds: the one clock every tpbench timestamp comes from.
static inline uint64_t tp_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// CPU time consumed by the calling thread, in nanoseconds.
static inline uint64_t tp_thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// CPU time (user + system) consumed by the whole process, in nanoseconds.
static inline uint64_t tp_process_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// Peak resident set size of the process in KiB.
static inline long tp_max_rss_kib(void) {
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0) return -1;
    return u.ru_maxrss;
}

/// Bytes the process has allocated and not freed (all malloc arenas plus mmapped blocks): memory the program holds,
/// without what the allocator keeps for reuse, which RSS counts too.
static inline uint64_t tp_heap_in_use_bytes(void) {
    struct mallinfo2 m = mallinfo2();
    return (uint64_t)m.uordblks + (uint64_t)m.hblkhd;
}

/// Raises the soft open-file limit to the hard limit; returns the resulting soft limit (or -1).
static inline long tp_raise_nofile_limit(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return -1;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &r) != 0) return -1;
    }
    return (long)r.rlim_cur;
}

#ifdef __linux__
typedef struct { uint32_t events; uint64_t data; } tp_epoll_event;

static inline int tp_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline uint32_t tp_epoll_in(void) { return EPOLLIN; }
static inline uint32_t tp_epoll_out(void) { return EPOLLOUT; }
static inline uint32_t tp_epoll_err(void) { return EPOLLERR | EPOLLHUP; }

static inline int tp_epoll_ctl_add(void) { return EPOLL_CTL_ADD; }
static inline int tp_epoll_ctl_mod(void) { return EPOLL_CTL_MOD; }
static inline int tp_epoll_ctl_del(void) { return EPOLL_CTL_DEL; }

/* op: EPOLL_CTL_ADD, _MOD or _DEL (Curl's `Epoll.Operation`). 0, or -errno: the caller sees why without reading a
 * thread-local errno through Swift. */
static inline int tp_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev) == 0 ? 0 : -errno;
}

/// Waits for events; copies them into `out` (the kernel struct is packed on x86_64, ours is not).
static inline int tp_epoll_wait(int epfd, tp_epoll_event *out, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n;
    do { n = epoll_wait(epfd, evs, max, timeout_ms); } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) { out[i].events = evs[i].events; out[i].data = evs[i].data.u64; }
    return n;
}

static inline int tp_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
static inline void tp_eventfd_signal(int fd) { uint64_t one = 1; ssize_t r = write(fd, &one, sizeof one); (void)r; }
static inline void tp_eventfd_drain(int fd) { uint64_t v; ssize_t r = read(fd, &v, sizeof v); (void)r; }
#endif

#endif
