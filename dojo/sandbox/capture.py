"""Output of a run read through a pipe: the head and tail are kept, the middle is counted and dropped."""

from __future__ import annotations

from pathlib import Path


class Capture:
    """One output stream of a run, held in bounded memory.

    Keeps the first `keep // 2` bytes and the last `keep // 2` bytes; `total` counts everything the code wrote.
    `save` writes at most `keep` bytes plus a one-line marker, so a run printing gigabytes leaves a small log.
    """

    def __init__(self, keep: int) -> None:
        self.half = max(1, keep // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        if len(self.tail) > 2 * self.half:  # trim in batches: amortized O(1) per byte
            del self.tail[: -self.half]

    def ends(self, cap: int) -> tuple[bytes, bytes, int]:
        """The first and last bytes of the stream within `cap` bytes in all, and how many lie between them."""
        cap = min(cap, 2 * self.half)
        if self.total <= cap:
            return bytes(self.head + self.tail), b"", 0
        half = cap // 2
        # Until the tail is first trimmed, the last bytes may reach back into the head.
        untrimmed = self.total == len(self.head) + len(self.tail)
        last = (self.head + self.tail)[-half:] if untrimmed else self.tail[-half:]
        return bytes(self.head[:half]), bytes(last), self.total - 2 * half

    def text(self, cap: int) -> tuple[str, bool]:
        """The stream as text within about `cap` bytes: head and tail around a marker saying how much was cut."""
        head, tail, cut = self.ends(cap)
        if not cut:
            return head.decode("utf-8", errors="replace"), False
        return _join(head, tail, cut, self.total), True

    def save(self, path: Path) -> None:
        """Write the kept bytes to `path`, with a marker where the middle was dropped."""
        head, tail, cut = self.ends(2 * self.half)
        with open(path, "wb") as handle:
            handle.write(head)
            if cut:
                handle.write(_marker(cut, self.total).encode())
            handle.write(tail)


def _marker(cut: int, total: int) -> str:
    return f"\n[... {cut:,} bytes cut; {total:,} bytes in all ...]\n"


def _join(head: bytes, tail: bytes, cut: int, total: int) -> str:
    return head.decode("utf-8", errors="replace") + _marker(cut, total) + tail.decode("utf-8", errors="replace")


def rotate_logs(log_dir: Path, keep_runs: int) -> None:
    """Delete the stdout/stderr logs of all but the newest `keep_runs` runs in `log_dir`."""
    stems: dict[str, int] = {}
    for path in log_dir.iterdir():
        if path.suffix in (".stdout", ".stderr"):
            try:
                stems[path.stem] = max(stems.get(path.stem, 0), path.stat().st_mtime_ns)
            except FileNotFoundError:
                continue
    for stem in sorted(stems, key=lambda name: (stems[name], name))[:-keep_runs]:
        for suffix in (".stdout", ".stderr"):
            (log_dir / f"{stem}{suffix}").unlink(missing_ok=True)
