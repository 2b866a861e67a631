"""A seccomp filter for agent code, compiled by libseccomp: no nested user namespaces, no ptrace, no keyrings."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os

_ACT_ALLOW = 0x7FFF0000
_CMP_MASKED_EQ = 7
_CLONE_NEWUSER = 0x10000000

# Syscalls agent code never needs and an attacker would: reading other processes' memory, the keyrings a
# user's processes share, kernel tracing. Each fails with EPERM.
_DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "perf_event_open",
    "bpf",
    "userfaultfd",
)


class _ArgCmp(ctypes.Structure):
    """libseccomp's struct scmp_arg_cmp: compare syscall argument `arg` with `datum_b` under mask `datum_a`."""

    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def _errno_action(code: int) -> int:
    """SCMP_ACT_ERRNO(code)."""
    return 0x00050000 | (code & 0xFFFF)


@functools.cache
def _library() -> ctypes.CDLL | None:
    """libseccomp, or None when it is not installed."""
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def seccomp_problem() -> str | None:
    """None when the filter can be built here; otherwise why not."""
    if _library() is None:
        return "libseccomp (the libseccomp2 package) is not installed; it is needed to filter agent syscalls"
    try:
        filter_program()
    except OSError as exc:
        return f"libseccomp cannot build the filter: {exc}"
    return None


@functools.cache
def filter_program() -> bytes:
    """The compiled BPF program bubblewrap's --seccomp loads for the native architecture.

    Creating a user namespace fails with EPERM (unshare or clone with CLONE_NEWUSER) and clone3, whose flags a
    filter cannot read, with ENOSYS, so that the C library falls back to clone. Syscalls of other
    architectures (32-bit entry points) kill the process: libseccomp's default for a foreign architecture.
    """
    lib = _library()
    if lib is None:
        raise OSError("libseccomp is not installed")
    ctx = lib.seccomp_init(_ACT_ALLOW)
    if not ctx:
        raise OSError("seccomp_init failed")
    try:
        newuser = (_ArgCmp * 1)(_ArgCmp(0, _CMP_MASKED_EQ, _CLONE_NEWUSER, _CLONE_NEWUSER))
        # unshare(flags) and, on x86-64 and arm64, clone(flags, ...) take the flags as argument 0.
        for name in ("unshare", "clone"):
            _add(lib, ctx, _errno_action(errno.EPERM), name, newuser)
        _add(lib, ctx, _errno_action(errno.ENOSYS), "clone3", None)
        for name in _DENIED:
            _add(lib, ctx, _errno_action(errno.EPERM), name, None)
        # The program is a few hundred bytes: it fits in the pipe's buffer, so the export cannot block.
        read_fd, write_fd = os.pipe()
        try:
            if lib.seccomp_export_bpf(ctx, write_fd) != 0:
                raise OSError("seccomp_export_bpf failed")
        finally:
            os.close(write_fd)
        with open(read_fd, "rb") as program:
            return program.read()
    finally:
        lib.seccomp_release(ctx)


def _add(lib: ctypes.CDLL, ctx: int, action: int, name: str, args: ctypes.Array | None) -> None:
    """Add one rule; a syscall this kernel's architecture lacks is skipped."""
    number = lib.seccomp_syscall_resolve_name(name.encode())
    if number < 0:
        return
    count = 0 if args is None else len(args)
    result = lib.seccomp_rule_add_array(ctx, action, number, count, args)
    if result != 0:
        raise OSError(-result, f"seccomp rule for {name} failed: {errno.errorcode.get(-result, result)}")
