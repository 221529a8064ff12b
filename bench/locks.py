"""One process at a time on a run folder or a shared training stage.

Two identical ``run`` commands started together would otherwise share one
``NAME.partial/`` folder, both train, and overwrite each other's files. The
lock is an OS-level advisory lock (``filelock``, which uses ``fcntl.flock`` on
POSIX and ``msvcrt.locking`` on Windows): the kernel drops it when the holder
dies, so a lock left by a killed process is taken over by the next request with
no stale-lock clean-up of our own. The lock file itself stays (deleting it
while another process waits on it would let a third one in beside it).

Under a multi-process launch only the main process locks; the others wait for
it at a barrier, so the group enters together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from bench import distributed


def lock_path(target: Path) -> Path:
    """The lock file beside ``target`` (hidden, so it never looks like a run)."""
    return target.with_name(f".{target.name}.lock")


@contextmanager
def exclusive(target: Path, what: str, log=print) -> Iterator[bool]:
    """Hold the lock of ``target`` for the block; yields whether another process held it first.

    When it is held, one line says so and the call waits for it (there is no
    timeout: the holder is either working or dead, and death frees the lock).
    """
    waited = False
    lock = None
    if distributed.is_main():
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(lock_path(target))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log(f"{what} is in progress in another process (lock {lock_path(target)}); waiting for it to finish")
            lock.acquire()
            waited = True
    distributed.barrier()
    try:
        yield waited
    finally:
        if lock is not None:
            lock.release()
