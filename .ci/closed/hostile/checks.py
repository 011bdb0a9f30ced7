"""Probes of the sandbox from inside a participant container (standard library only)."""
from __future__ import annotations

import errno
import os
import re
import socket
import stat
import subprocess
import time

VIEW, OUTPUT = "/dataperf/view", "/dataperf/output"
SKIP = ("/proc", "/sys", "/dev")
HIDDEN_NAME = re.compile(r"(_test_\d+\.parquet|^dataset_.+_train\.csv|^eval\.yaml|^alpha_test_set_.+\.parquet"
                         r"|^sellers\.json)$")
HIDDEN_FOLDER = {"eval_embeddings", "test_sets"}
SELLER_ROWS = re.compile(r"/\d+/\d+\.csv$")
# What every cube image carries and is public: the cubes' default parameters, the marker of a container run.
PUBLIC_DEFAULTS = re.compile(r"/(vision_debugging|speech_selection|vision_selection|data_acquisition)/workspace/"
                             r"parameters\.yaml$")
PUBLIC_VARIABLES = {b"DATAPERF_CONTAINER"}


def walk(limit_entries: int = 400_000, limit_seconds: float = 60.0):
    """Every path of the container's file system but /proc, /sys and /dev, bounded."""
    started, count = time.monotonic(), 0
    for root, folders, files in os.walk("/", followlinks=False):
        folders[:] = [f for f in folders if os.path.join(root, f) not in SKIP]
        for name in folders + files:
            count += 1
            if count > limit_entries or time.monotonic() - started > limit_seconds:
                return
            yield os.path.join(root, name)


def find_hidden() -> list[str]:
    """Hidden data by name anywhere, organisers' files, seeds in the environment, foreign processes."""
    breaches = []
    for path in walk():
        name = os.path.basename(path)
        if HIDDEN_NAME.search(name) or name in HIDDEN_FOLDER:
            breaches.append(f"hidden file visible: {path}")
        if SELLER_ROWS.search(path) and "/data_buyer/" not in path and "/site-packages/" not in path \
                and "/dist-packages/" not in path:
            breaches.append(f"seller rows visible: {path}")
        if name == "parameters.yaml" and path != f"{VIEW}/parameters.yaml" and not PUBLIC_DEFAULTS.search(path):
            breaches.append(f"a parameters file outside the view: {path}")
    for source in ("/proc/self/environ", "/proc/1/environ"):
        with open(source, "rb") as handle:
            for item in handle.read().split(b"\0"):
                name = item.upper().split(b"=")[0]
                if (b"SEED" in name or b"DATAPERF" in name) and name not in PUBLIC_VARIABLES:
                    breaches.append(f"{source}: {item[:60]!r}")
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ")
        except OSError:
            continue
        if b"groundtruth" in command or b"seller_folder" in command or b"evaluate" in command.split(b" ")[3:4]:
            breaches.append(f"process {pid} runs {command[:80]!r}")
    with open(f"{VIEW}/parameters.yaml", encoding="utf-8") as handle:
        text = handle.read()
    if re.search(r"^\s+seed:", text, re.M) or "official" in text or "url" in text:
        breaches.append("the view's parameters hold a data seed or a download address")
    return breaches


def regenerate_vision_debugging() -> list[str]:
    """The generators are public: were the round's data made with a seed the container knows?"""
    import yaml
    from vision_debugging import config
    from vision_debugging.data import generate_task, load_split, task_files

    params = config.load(f"{VIEW}/parameters.yaml")
    sizes, noise = config.split_sizes(params), params.get("data.noise_level")
    breaches = []
    for data_id in params.get("data.tasks"):
        seen = load_split(task_files(f"{VIEW}/embedding_folder", "/nonexistent", data_id, noise, sizes).train)
        for seed in {0, params.get("seed"), yaml.safe_load(open(f"{VIEW}/parameters.yaml"))["seed"]}:
            made = generate_task(data_id, sizes, noise, seed)["train"]["x"]
            if made.shape == seen.x.shape and (abs(made - seen.x) < 1e-6).all():
                breaches.append(f"task {data_id} regenerates from seed {seed}")
    return breaches


def write_outside() -> list[str]:
    """Writes anywhere but /tmp and the output folder must fail."""
    breaches = []
    targets = [f"{VIEW}/new.txt", f"{VIEW}/embedding_folder/new.txt", f"{VIEW}/market_folder/new.txt", "/new.txt",
               "/app/new.txt", "/etc/new.txt", "/root/new.txt", "/dataperf/new.txt", "/var/tmp/new.txt",
               "/usr/local/lib/python3.11/dist-packages/new.py", "/opt/hostile/new.py"]
    for target in targets:
        try:
            with open(target, "w") as handle:
                handle.write("x")
            breaches.append(f"wrote {target}")
        except OSError:
            pass
    for root, _, files in os.walk(VIEW):
        for name in files:
            path = os.path.join(root, name)
            for attempt, action in (("append to", lambda p: open(p, "a").write("x")),
                                    ("chmod", lambda p: os.chmod(p, 0o777)),
                                    ("remove", os.unlink),
                                    ("rename", lambda p: os.rename(p, p + ".moved")),
                                    ("truncate", lambda p: os.truncate(p, 0))):
                try:
                    action(path)
                    breaches.append(f"could {attempt} {path}")
                except OSError:
                    pass
    for allowed in ("/tmp/probe.txt", f"{OUTPUT}/probe-scratch.txt"):
        with open(allowed, "w") as handle:
            handle.write("x")
        os.unlink(allowed)
    return breaches


def escalate() -> list[str]:
    """No root, no capabilities, no new privileges: setuid binaries, su and sudo give nothing."""
    breaches = []
    if os.geteuid() == 0 or os.getuid() == 0:
        breaches.append(f"running as uid {os.getuid()}/{os.geteuid()}")
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    for key in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        if int(status[key].strip(), 16):
            breaches.append(f"{key} is {status[key].strip()}")
    if status["NoNewPrivs"].strip() != "1":
        breaches.append("no_new_privs is off")
    result = subprocess.run(["/usr/local/bin/setuid-python", "-c", "import os; print(os.geteuid())"],
                            capture_output=True, text=True, timeout=30)
    if result.stdout.strip() != str(os.geteuid()):
        breaches.append(f"the setuid interpreter ran as euid {result.stdout.strip()!r}")
    for change in (os.setuid, os.setgid, os.seteuid):
        try:
            change(0)
            breaches.append(f"{change.__name__}(0) worked")
        except OSError:
            pass
    for command in (["sudo", "-n", "id", "-u"], ["su", "-c", "id -u", "root"]):
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0 and result.stdout.strip() == "0":
            breaches.append(f"{command[0]} gave root")
    try:
        open("/etc/shadow").read()
        breaches.append("read /etc/shadow")
    except OSError:
        pass
    return breaches


def docker_socket() -> list[str]:
    """No Docker or containerd socket anywhere, no DOCKER_HOST, no engine on the loopback ports."""
    breaches = [f"{name}={value}" for name, value in os.environ.items() if name.startswith("DOCKER")]
    for path in ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
                 "/var/run/docker", "/run/docker"):
        if os.path.lexists(path):
            breaches.append(f"{path} exists")
    for path in walk():
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                breaches.append(f"a socket: {path}")
        except OSError:
            pass
    for port in (2375, 2376):          # the container's own loopback: nothing should listen there
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                breaches.append(f"something listens on 127.0.0.1:{port}")
    return breaches


def network() -> list[str]:
    """Only a loopback interface and no route; only then name resolution, which must fail (with no interface
    and no route, the kernel has nowhere to send a packet)."""
    interfaces = sorted(os.listdir("/sys/class/net"))
    if interfaces != ["lo"]:
        return [f"interfaces besides loopback: {interfaces}"]
    with open("/proc/net/route") as handle:
        routes = handle.read().splitlines()[1:]
    if routes:
        return [f"IPv4 routes: {routes[:3]}"]
    if os.path.exists("/proc/net/ipv6_route"):
        with open("/proc/net/ipv6_route") as handle:
            foreign = [line for line in handle if line.split()[-1] != "lo"]
        if foreign:
            return [f"IPv6 routes: {foreign[:3]}"]
    breaches = []
    for name in ("dataperf.org", "example.com"):
        try:
            found = socket.getaddrinfo(name, 443, proto=socket.IPPROTO_TCP)
            breaches.append(f"{name} resolves to {found[0][4]}")
        except OSError:
            pass
    return breaches


def report(probe: str, breaches: list[str]) -> None:
    if breaches:
        for breach in breaches[:20]:
            print(f"BREACH {probe}: {breach}", flush=True)
        raise SystemExit(99)
    print(f"CONTAINED {probe}: nothing found", flush=True)


def _syscall(number: int, *arguments) -> tuple[int, int]:
    """A raw system call through the C library: (result, errno)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in arguments))
    return result, ctypes.get_errno()


# x86_64 and aarch64 numbers (io_uring's are the same on every architecture)
SYSCALLS = {
    "x86_64": {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "ptrace": 101,
               "userfaultfd": 323, "unshare": 272, "process_vm_readv": 310, "getpid": 39},
    "aarch64": {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "ptrace": 117,
                "userfaultfd": 282, "unshare": 97, "process_vm_readv": 270, "getpid": 172},
}
CLONE_NEWUSER = 0x10000000
PTRACE_ATTACH = 16


def seccomp() -> list[str]:
    """io_uring, ptrace, userfaultfd, process_vm_readv and a new user namespace must fail; the clock (PID 1 of
    this PID namespace) must survive SIGKILL from here; an ordinary call must work (the probe itself is sound)."""
    import ctypes
    import platform
    import signal

    numbers = SYSCALLS.get(platform.machine())
    if numbers is None:
        return [f"no system call numbers for {platform.machine()}: the probe cannot run"]
    breaches = []
    if _syscall(numbers["getpid"])[0] != os.getpid():
        breaches.append("getpid through syscall() failed: the probe is broken")
    params = ctypes.create_string_buffer(120)          # struct io_uring_params
    attempts = {
        "io_uring_setup": (numbers["io_uring_setup"], 1, ctypes.addressof(params)),
        "io_uring_enter": (numbers["io_uring_enter"], 0, 0, 0, 0, 0, 0),
        "io_uring_register": (numbers["io_uring_register"], 0, 0, 0, 0),
        "ptrace(PTRACE_ATTACH, 1)": (numbers["ptrace"], PTRACE_ATTACH, 1, 0, 0),
        "userfaultfd": (numbers["userfaultfd"], 0),
        "unshare(CLONE_NEWUSER)": (numbers["unshare"], CLONE_NEWUSER),
        "process_vm_readv(1)": (numbers["process_vm_readv"], 1, 0, 0, 0, 0, 0),
    }
    for name, (number, *arguments) in attempts.items():
        result, error = _syscall(number, *arguments)
        if result >= 0:
            breaches.append(f"{name} succeeded ({result})")
        elif error not in (1, 38):                      # EPERM (the profile) or ENOSYS
            breaches.append(f"{name} reached the kernel (errno {error}, not EPERM/ENOSYS)")
        else:
            print(f"seccomp: {name}: errno {error}", flush=True)
    for signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP, signal.SIGINT):
        try:
            os.kill(1, signum)
        except OSError:
            pass
    time.sleep(1)
    with open("/proc/1/stat") as handle:
        state = handle.read().rsplit(")", 1)[1].split()[0]
    if state in ("T", "t", "Z", "X"):
        breaches.append(f"the clock (PID 1) was stopped or killed from inside: state {state}")
    return breaches


def scratch_volume(path: str = "/scratch", limit_mb: int = 64) -> list[str]:
    """The image declares VOLUME /scratch: it must be a tmpfs of the sandbox (no anonymous volume on the host's
    disk), and a write must stop at its size."""
    mounts = [line.split() for line in open("/proc/self/mountinfo")]
    here = [m for m in mounts if m[4] == path]
    if not here:
        return [f"{path} is not a mount point: where do its writes go?"]
    fstype = here[-1][here[-1].index("-") + 1]
    if fstype != "tmpfs":
        return [f"{path} is a {fstype} mount (an anonymous volume on the host's disk?)"]
    written = 0
    try:
        with open(f"{path}/fill.bin", "wb", buffering=0) as handle:
            while written < 4 * limit_mb << 20:
                written += handle.write(b"\0" * (1 << 20))
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
    os.unlink(f"{path}/fill.bin")
    print(f"scratch: {path} is a tmpfs; {written >> 20} MiB written before it was full", flush=True)
    return [f"wrote {written >> 20} MiB to {path}, over the {limit_mb} MiB of /tmp"] if written > limit_mb << 20 else []


def mountinfo() -> list[str]:
    """Print where every mount comes from (the root inside its file system, the source); the CI checks that no
    line names the organiser's workspace or the round.  Here: the view's folder must not look like a workspace."""
    breaches = []
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        root, point = fields[3], fields[4]
        source = fields[fields.index("-") + 2]
        if point.startswith(("/proc", "/sys", "/dev")):
            continue
        print(f"MOUNT {point} root={root} source={source}", flush=True)
        if point == VIEW and any(word in root for word in ("/closed/", "/images/", "/embeddings", "/workspace")):
            breaches.append(f"the view is mounted from {root}")
    return breaches
