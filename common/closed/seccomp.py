"""The seccomp profile of a participant's container: the system calls an algorithm needs, nothing else.

Docker's default profile allows about 350 calls; which ones depends on the engine's version (io_uring_setup, the
entry point of a large kernel attack surface, is allowed by 20.10's default).  So the runner passes its own
profile, the same on every engine: an allow-list by purpose, below, everything else failing with EPERM.

Left out on purpose, though the engine's default allows them to an unprivileged container:
  io_uring_setup, io_uring_enter, io_uring_register   asynchronous I/O rings: a kernel attack surface, no need
  ptrace, process_vm_readv, process_vm_writev          no process of the sandbox inspects another (the clock
                                                       process of the keeper shares its PID namespace)
  io_setup, io_submit, io_getevents, io_pgetevents, io_cancel, io_destroy   Linux AIO
  mq_*, msgget, msgsnd, msgrcv, msgctl                 POSIX and System V message queues
  fanotify_mark, name_to_handle_at, remap_file_pages, vmsplice, adjtimex, clock_adjtime, modify_ldt,
  memfd_secret, process_mrelease
and, as in the default without capabilities: mount and new namespaces (unshare, setns, clone with a CLONE_NEW*
flag; clone3 answers ENOSYS so that the C library falls back to clone), bpf, perf_event_open, keyctl,
userfaultfd, open_by_handle_at, NUMA memory policies, kernel modules, reboot, swap, clock setting, chroot.
"""
from __future__ import annotations

import json

EPERM, ENOSYS = 1, 38
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET: clone may create none of them.
CLONE_NAMESPACES = 0x7E020000
AF_VSOCK = 40
PERSONALITIES = (0, 8, 0x20000, 0x20008, 0xFFFFFFFF)    # PER_LINUX, ..._32BIT, UNAME26 variants, and the query

ALLOWED: dict[str, tuple[str, ...]] = {
    "files": (
        "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range", "creat", "dup",
        "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod",
        "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
        "flock", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
        "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64", "getxattr", "lchown",
        "lchown32", "lgetxattr", "link", "linkat", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
        "lsetxattr", "lstat", "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "open", "openat",
        "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
        "readlink", "readlinkat", "readv", "removexattr", "rename", "renameat", "renameat2", "rmdir", "sendfile",
        "sendfile64", "setxattr", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
        "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask", "unlink",
        "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "write", "writev",
        "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "ioctl",
    ),
    "memory": (
        "brk", "madvise", "membarrier", "memfd_create", "mincore", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
        "mprotect", "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free",
        "pkey_mprotect",
    ),
    "processes and threads": (
        "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "waitpid", "futex",
        "futex_time64", "futex_waitv", "get_robust_list", "set_robust_list", "set_tid_address", "rseq",
        "get_thread_area", "set_thread_area", "prctl", "seccomp", "landlock_add_rule", "landlock_create_ruleset",
        "landlock_restrict_self", "capget", "capset", "getpid", "getppid", "gettid", "getpgid", "getpgrp",
        "getsid", "setpgid", "setsid", "getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "times",
        "sysinfo", "uname", "getrandom", "getcpu", "restart_syscall",
        "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr", "sched_getparam",
        "sched_setparam", "sched_getscheduler", "sched_setscheduler", "sched_get_priority_max",
        "sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_yield",
        "getpriority", "setpriority", "ioprio_get", "ioprio_set",
    ),
    "identity (setuid and the like fail: no capability, no new privileges)": (
        "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32", "getgroups",
        "getgroups32", "getresuid", "getresuid32", "getresgid", "getresgid32", "setuid", "setuid32", "setgid",
        "setgid32", "setreuid", "setreuid32", "setregid", "setregid32", "setresuid", "setresuid32", "setresgid",
        "setresgid32", "setgroups", "setgroups32", "setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
    ),
    "signals": (
        "kill", "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "rt_sigaction", "rt_sigpending",
        "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
        "sigreturn", "pause", "alarm",
    ),
    "time": (
        "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
        "clock_nanosleep_time64", "gettimeofday", "time", "nanosleep", "getitimer", "setitimer", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64",
    ),
    "waiting on descriptors": (
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
        "epoll_wait_old", "eventfd", "eventfd2", "poll", "ppoll", "ppoll_time64", "pselect6", "pselect6_time64",
        "select", "_newselect", "pipe", "pipe2",
    ),
    "local sockets and shared memory (the network is off: loopback only)": (
        "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recv",
        "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg", "sendto",
        "setsockopt", "shutdown", "socketcall", "socketpair", "ipc", "shmat", "shmctl", "shmdt", "shmget",
        "semctl", "semget", "semop", "semtimedop", "semtimedop_time64",
    ),
}

# Calls that exist on one architecture only (the engine drops those of other architectures).
ARCH_ONLY = {
    "amd64": ("arch_prctl",),
    "x32": ("arch_prctl",),
    "arm": ("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"),
    "arm64": ("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"),
}

# Never allowed, whatever a future edit of ALLOWED says (tests/common/test_closed_runner.py checks it).
FORBIDDEN = frozenset({
    "io_uring_setup", "io_uring_enter", "io_uring_register", "ptrace", "process_vm_readv", "process_vm_writev",
    "mount", "umount", "umount2", "unshare", "setns", "pivot_root", "chroot", "bpf", "perf_event_open", "keyctl",
    "add_key", "request_key", "userfaultfd", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "reboot", "swapon", "swapoff", "open_by_handle_at", "pidfd_getfd", "kcmp",
    "process_madvise", "io_setup", "io_submit",
})


def profile() -> dict:
    """The profile as the Engine API takes it (`seccomp=<JSON>` in SecurityOpt)."""
    names = sorted({name for group in ALLOWED.values() for name in group})
    rules = [{"names": names, "action": "SCMP_ACT_ALLOW"}]
    for arch, calls in ARCH_ONLY.items():
        rules.append({"names": list(calls), "action": "SCMP_ACT_ALLOW", "includes": {"arches": [arch]}})
    rules += [
        # sockets of every family but vsock (a channel to the hypervisor)
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": AF_VSOCK, "op": "SCMP_CMP_NE"}]},
        # personality: only the harmless values (query, and the Linux personalities the C library sets)
        *({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": value, "op": "SCMP_CMP_EQ"}]} for value in PERSONALITIES),
        # threads and processes, never in a new namespace (s390 swaps the first two arguments of clone)
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["s390", "s390x"]},
         "args": [{"index": 0, "value": CLONE_NAMESPACES, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390", "s390x"]},
         "args": [{"index": 1, "value": CLONE_NAMESPACES, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
        # clone3 passes its flags in memory a filter cannot read: "not implemented" makes the C library use clone
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS},
    ]
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
        ],
        "syscalls": rules,
    }


def security_option() -> str:
    return "seccomp=" + json.dumps(profile(), separators=(",", ":"))
