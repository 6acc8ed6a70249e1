"""The sweep engine's worker processes: a pool that starts fast, dies with its command, and can be
warmed up while the command is still reading its config.

Stdlib only at import time, so a command can start the workers' fork server (`warm_up`) before it
imports the model, pandas and Hydra itself: the server's own imports, the slowest part of a
sweep's start, then run on another core at the same time instead of before the first chunk.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterable, Sequence
from typing import Any


def _worker_init(main_pid: int) -> None:
    # Ctrl-C and SIGTERM go to the parent, which stops the pool: workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with(main_pid)


WATCH_SECONDS = 0.5
"""How often a worker checks that the process that started the pool is still there."""


def _die_with(main_pid: int) -> None:
    """End this worker when the command that started the pool ends (even by kill -9), so no orphan
    finishes its chunk or prints BrokenPipeError. A forkserver worker's parent is the fork server,
    not the command, so the kernel's parent-death signal alone would not reach it: a daemon thread
    watches the command's pid instead."""
    import threading

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            try:
                os.kill(main_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # the pid was reused by another user's process: ours is gone
                os._exit(1)
            if _zombie(main_pid):  # killed, not yet reaped by its own parent: gone all the same
                os._exit(1)

    threading.Thread(target=watch, name="aidsim-watch-parent", daemon=True).start()


def _zombie(pid: int) -> bool:
    """Whether `pid` has ended but not been reaped (state Z in /proc; False where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


START_METHOD = "forkserver"
"""Pool start method. `fork` from a process with threads (Arrow's and tqdm's pools) is unsafe and
warned about on Python 3.12+; `forkserver` forks workers from a clean single-threaded server that
has already imported the model (`set_forkserver_preload`), so they start about as fast."""


PRELOAD = ["aidsim.runs.batch"]
"""What the fork server imports once, so that every worker forked from it starts with the model loaded."""


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if START_METHOD in methods:
        ctx = multiprocessing.get_context(START_METHOD)
        if START_METHOD == "forkserver":
            ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def warm_up() -> None:
    """Start the fork server now, without waiting for it, when this machine would run a pool: its
    imports overlap with the caller's own start-up, and the pool made later reuses it. The server
    starts with Ctrl-C ignored (an ignored signal stays ignored across exec): a Ctrl-C meant for the
    command would otherwise print the server's traceback from the middle of its imports."""
    if default_workers() > 1 and _context().get_start_method() == "forkserver":  # _context sets the preload
        from multiprocessing import forkserver

        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            forkserver.ensure_running()
        finally:
            signal.signal(signal.SIGINT, previous)


_stop = False


def request_stop() -> None:
    """Ask `execute` to stop at its next result (a signal handler's KeyboardInterrupt can be lost
    when it lands in code that swallows exceptions, such as an import's cleanup)."""
    global _stop
    _stop = True


def execute(tasks: Sequence[Any], fn: Any, workers: int) -> Iterable[Any]:
    """Yield fn(task) for each task (in completion order), on `workers` processes."""
    workers = max(1, min(workers, len(tasks)))
    if workers == 1:
        for t in tasks:
            if _stop:
                raise KeyboardInterrupt
            yield fn(t)
        return
    pool = _context().Pool(workers, initializer=_worker_init, initargs=(os.getpid(),))
    try:
        for result in pool.imap_unordered(fn, tasks):
            if _stop:
                raise KeyboardInterrupt
            yield result
        pool.close()
    finally:
        pool.terminate()
        pool.join()
