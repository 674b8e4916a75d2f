// Typed wrappers for libcurl's variadic API, plus the Linux calls Swift's Glibc module lacks (epoll, eventfd).
// Swift cannot call C variadic functions, so every setopt/getinfo argument kind gets one inline wrapper.
#ifndef TPBENCH_CCURL_SHIM_H
#define TPBENCH_CCURL_SHIM_H

#include <curl/curl.h>
#include <stdint.h>
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

/// op: 0 add, 1 modify, 2 delete.
static inline int tp_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    int cop = op == 0 ? EPOLL_CTL_ADD : (op == 1 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL);
    /* 0, or -errno: the caller sees why without reading a thread-local errno through Swift. */
    return epoll_ctl(epfd, cop, fd, &ev) == 0 ? 0 : -errno;
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
