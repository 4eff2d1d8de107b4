"""Peak RSS of this process for the bench scripts (Linux), shared by
`write_deltalake.py` and `merge_deltalake.py` (written beside them)."""


def peak_kib():
    """The process's peak RSS since `reset_peak()`, in KiB. Not `ru_maxrss`:
    a spawned child inherits its parent's high-water mark."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
