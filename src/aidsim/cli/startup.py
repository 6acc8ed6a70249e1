"""What keeps a console script's start-up short, beyond importing lazily
(experiments/benchmark_startup.py measures it):

- `hydra_app`: a plain run composes the config once, where Hydra's command line composes it twice;
- `startup_gc`: the cyclic garbage collector stays off while Hydra, the config and Mesa are loaded;
- `FigureProcess`: a figure is drawn in a second process that imports matplotlib while this one
  loads Mesa and runs the model.

And `Leftovers`: what Hydra made on disk (the output folder, `.hydra/`, the log) before a command
that then failed or was refused, so that it can be removed and nothing else.

Like `guard`, this module imports nothing heavy itself.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_gc_paused = False


@contextmanager
def startup_gc() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off until `resume_gc` (at the latest when the
    block ends). Start-up's imports and config composition make about a million objects that live
    to the end of the process and almost no garbage, yet trigger some 450 collections that scan
    them: 0.3 s of CPU in a 4 s default run."""
    global _gc_paused
    _gc_paused = gc.isenabled()  # a collector the caller turned off stays off
    gc.disable()
    try:
        yield
    finally:
        resume_gc()


def resume_gc() -> None:
    """End `startup_gc`'s pause (a no-op if there is none): freeze what start-up made, so that later
    collections do not scan it again, and turn the collector back on for the work that follows."""
    global _gc_paused
    if _gc_paused:
        _gc_paused = False
        gc.freeze()
        gc.enable()


class FigureProcess:
    """Draw in a forked process: it runs `warm_up` at once (matplotlib's import, 0.6 s), then waits
    for `draw`'s arguments. On two cores the import overlaps the Mesa import and the model run, and
    the drawing overlaps the writing of the tables. Fork before any thread starts."""

    def __init__(self, warm_up: Callable[[], None], draw: Callable[..., None]):
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_draw_when_asked, args=(child, warm_up, draw), daemon=True, name="aidsim-figure")
        self._process.start()
        child.close()

    def draw(self, *args: Any) -> None:
        """Hand `draw` its arguments (pickled); `wait` says how it went."""
        self._conn.send(args)

    def wait(self) -> None:
        """Wait for the drawing; raise its error as this process's own (one line; a file-system
        error as an OSError, which the command reports as such)."""
        try:
            error = self._conn.recv()
        except EOFError:
            error = f"the figure process ended with exit code {self._process.exitcode}"
        self._process.join()
        if isinstance(error, tuple):
            raise OSError(*error)
        if error:
            raise RuntimeError(error)

    def cancel(self) -> None:
        """Stop the process without drawing (the run failed before there was anything to draw)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()


def _draw_when_asked(conn: Any, warm_up: Callable[[], None], draw: Callable[..., None]) -> None:
    import signal

    # Ctrl-C is the command's to answer, and `cancel`'s SIGTERM simply ends this process: neither
    # prints a traceback from the middle of a drawing
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        warm_up()
        args = conn.recv()
        draw(*args)
        conn.send(None)
    except EOFError:  # the run ended without asking
        return
    except OSError as exc:  # a full disk, an unwritable folder: the command's one line names the file
        conn.send((exc.errno, exc.strerror, exc.filename))
    except Exception as exc:
        conn.send(f"{type(exc).__name__}: {exc}")


def _plain_run(argv: Sequence[str]) -> bool:
    """Whether a command line only runs the app: overrides, no flag, no override of `hydra.mode`."""
    return all(not a.startswith("-") and a.split("=", 1)[0].lstrip("+~") not in ("hydra", "hydra.mode") for a in argv)


def hydra_app(task: Callable[[Any], Any], config_dir: Path, config_name: str) -> Callable[[], None]:
    """`hydra.main(config_path=config_dir, config_name=config_name, version_base="1.3")(task)`,
    except that a plain run (`_plain_run`) composes the config once instead of twice.

    Hydra's command line composes the config once only to read `hydra.mode` (`Hydra.get_mode`),
    then again to run (0.2-0.4 s of CPU each). No config file of ours sets `hydra.mode`
    (tests/test_startup.py checks), so for a plain run that first answer is always "unset", which Hydra
    turns into the override `hydra.mode=RUN` before running: this does the same without asking.
    Flags (`--cfg`, `-m`, `--info`, `--config-dir` ...) and `hydra.mode=...` go through `hydra.main`."""
    from hydra import main, version

    if not _plain_run(sys.argv[1:]):
        return main(config_path=str(config_dir), config_name=config_name, version_base="1.3")(task)

    def run() -> None:
        # the steps of hydra._internal.utils._run_hydra for `--run` (Hydra's default command)
        from hydra._internal import utils
        from hydra._internal.hydra import Hydra
        from hydra.core.global_hydra import GlobalHydra

        version.setbase("1.3")
        calling_file, calling_module = utils.detect_calling_file_or_module_from_task_function(task)
        search_path = utils.create_automatic_config_search_path(calling_file, calling_module, str(config_dir))
        task_name = utils.detect_task_name(calling_file, calling_module)
        app = utils.run_and_report(lambda: Hydra.create_main_hydra2(task_name=task_name, config_search_path=search_path))
        try:
            utils.run_and_report(lambda: app.run(config_name=config_name, task_function=task, overrides=[*sys.argv[1:], "hydra.mode=RUN"]))
        finally:
            GlobalHydra.instance().clear()

    return run


def argv_value(argv: Sequence[str], keys: Sequence[str]) -> str | None:
    """The value the command line gives the last of `keys` (`key=value`, `+key=value`, quotes
    dropped), or None: for the checks that must come before Hydra reads the command line."""
    found = [a.split("=", 1)[1].strip("'\"") for a in argv if "=" in a and a.split("=", 1)[0].lstrip("+") in keys]
    return found[-1] if found else None


class Leftovers:
    """What was on disk before Hydra made a command's output folder, so that a command that fails
    or is refused removes what it made and nothing else: the folders on the way to the output
    folder that already existed, and the entries of the output folder itself if it did (a user's
    `hydra.run.dir` may hold their own files).

    `keys`: the command-line keys that name the output folder; `default_root`: the folder a
    default output folder is made in (its own name is new: a time stamp or a study name)."""

    def __init__(self, argv: Sequence[str], default_root: str, keys: Sequence[str]):
        given = argv_value(argv, keys)
        self.named = Path(given) if given else None
        """The output folder the command line names, if it does (else Hydra picks it later)."""
        root = (Path(given) if given else Path(default_root)).absolute()
        self.dirs = {p for p in (root, *root.parents) if p.is_dir()}
        # what each folder the output may turn out to be held already: the named one, or each of
        # the default root's (a study's folder, say, that holds files of the user's)
        candidates = [root] if given else [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
        self.entries = {p.absolute(): {e.name for e in p.iterdir()} for p in candidates if p.is_dir()}
        self.dirs |= set(self.entries)

    def clean(self, out: Path) -> None:
        """Remove what was made: in a folder that existed, the entries that did not; else the folder
        and the folders made on the way to it, up to the first that existed."""
        import shutil

        out = out.absolute()
        if out in self.dirs:
            kept = self.entries.get(out)
            if kept is None:  # a folder further up, whose entries were not looked at: leave it be
                return
            for entry in out.iterdir():
                if entry.name in kept:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
            return
        shutil.rmtree(out, ignore_errors=True)
        here = out.parent
        while here not in self.dirs and here != here.parent:
            try:
                here.rmdir()
            except OSError:
                break
            here = here.parent
