"""`aidsim`: one scenario over many replicate worlds. A Hydra app over the config tree, so any
override works: `aidsim scenario=floods_2007 flood.severity=40 replicates=5000`.

Start-up is kept short (experiments/benchmark_startup.py measures it):
- `--help` is answered from the config files before Hydra is imported (`guard.quick_help`);
- the config is validated (pydantic only) before Mesa, pandas and matplotlib are imported, so a bad
  key is reported before any heavy import;
- the timeline is drawn in a second process (`cli.startup.FigureProcess`) that imports matplotlib
  while this one loads Mesa and runs the model, and draws while this one writes the tables;
- a plain run composes the config once, not twice, and Hydra, the config and Mesa load with the
  garbage collector paused (`cli.startup`).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aidsim.cli.guard import guarded, quick_help
from aidsim.cli.startup import FigureProcess, Leftovers, argv_value, hydra_app, resume_gc, startup_gc
from aidsim.model.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from omegaconf import DictConfig

    from aidsim.model.model import AidModel
    from aidsim.model.params import Params

RESULT_FILES = ("responses.parquet", "runs.parquet", "summary.csv", "dispatch.md", "provenance.json")
SUMMARY = "one scenario over many replicate worlds (default: the 2024 Amnok floods, 1,000 worlds); docs/cli.md"


def output_dir() -> Path:
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def checked_params(cfg: DictConfig) -> Params:
    """Validated Params plus the checks pydantic does not make: true/false where a number belongs,
    the dispatch replicate in range, memory for the worlds asked for."""
    from aidsim.model.config import to_params
    from aidsim.runs import resources

    params = to_params(cfg)  # also refuses true/false where a number belongs
    out = cfg.get("output") or {}
    pick = out.get("dispatch_replicate", 0)
    if isinstance(pick, bool) or not isinstance(pick, int) or not 0 <= pick < params.replicates:
        raise ConfigError(f"output.dispatch_replicate={pick!r}: allowed: a whole number from 0 to replicates-1 ({params.replicates - 1})")
    for flag in ("figures", "overwrite"):
        if flag in out and not isinstance(out[flag], bool):
            raise ConfigError(f"output.{flag}={out[flag]!r}: allowed: true or false")
    resources.check_worlds(params.replicates, params.horizon_days)
    return params


def write_run(
    out: Path, params: Params, model: AidModel, cfg: DictConfig, seconds: float, figure: FigureProcess | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write a scenario run's results folder; return the (summary, runs) tables. With
    `output.figures`, `timeline.png` is drawn by `figure` if given (started by `timeline_process`),
    else here."""
    from omegaconf import OmegaConf

    from aidsim.report import narrative, timeline
    from aidsim.runs import store, tables

    if figure is not None:
        figure.draw(timeline.timeline_data(model), out / "timeline.png")
    resp, runs = tables.responses(model), tables.runs(model)
    summary = tables.summary(resp)
    store.write_parquet(out / "responses.parquet", resp, nullable=tables.NULLABLE)
    store.write_parquet(out / "runs.parquet", runs, nullable=tables.NULLABLE)
    store.write_text(out / "summary.csv", summary.to_csv())
    store.write_text(out / "dispatch.md", narrative.dispatch_markdown(model, cfg.output.dispatch_replicate))
    store.write_text(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    store.write_json(out / "provenance.json", store.provenance(params.seed, replicates=model.worlds, seconds=round(seconds, 3)))
    if figure is not None:
        figure.wait()
    elif cfg.output.figures:
        timeline.save_timeline(timeline.timeline_data(model), out / "timeline.png")
    return summary, runs


def timeline_process(cfg: DictConfig) -> FigureProcess | None:
    """The process that will draw `timeline.png`, started now; None without `output.figures`, or
    when another Python thread is running (forking then could copy a lock it holds), and the
    timeline is drawn in this process instead."""
    import threading

    if not cfg.output.figures or threading.active_count() > 1:
        return None
    from aidsim.report import timeline

    return FigureProcess(timeline.warm_up, timeline.save_timeline)


def format_summary(summary: pd.DataFrame, runs: pd.DataFrame) -> str:
    """The console report from the `tables.summary` and `tables.runs` tables: per donor, offers,
    timing, responses, acceptance; then run-level lines. A donor that never offered (short horizon,
    one world) shows '-' for its day."""
    import pandas as pd

    from aidsim.runs import tables

    def pct(x: Any) -> str:
        return "-" if pd.isna(x) else f"{100 * x:5.1f}%"

    head = f"{'donor':<14}{'offered':>8}{'med.day':>8}" + "".join(f"{r:>12}" for r in tables.RESPONSES)
    lines = [head, "-" * len(head)]
    for donor, row in summary.iterrows():
        day = "-" if pd.isna(row["median_offer_day"]) else f"{row['median_offer_day']:.0f}"
        lines.append(f"{donor:<14}{pct(row['offered']):>8}{day:>8}" + "".join(f"{pct(row[r]):>12}" for r in tables.RESPONSES))
    share = runs["domestic_share"].median()
    lines.append(
        f"any aid accepted in {pct(runs['any_accepted'].mean()).strip()} of {len(runs)} worlds; "
        f"median domestic share of relief {'-' if pd.isna(share) else f'{share:.2f}'}"
    )
    return "\n".join(lines)


def _refuse_reuse(out: Path, overwrite: object) -> None:
    if overwrite is True:
        return
    found = [n for n in RESULT_FILES if (out / n).exists()]
    if found:
        raise ConfigError(f"hydra.run.dir={str(out)!r}: already holds a run ({found[0]}); choose another folder or pass output.overwrite=true")


def _refuse_reuse_early(argv: Sequence[str]) -> None:
    """`_refuse_reuse` and `_hold` for a `hydra.run.dir` named on the command line, before Hydra
    writes its records (.hydra/) into the folder it would then refuse: the other run's stay as
    they were."""
    given = argv_value(argv, ("hydra.run.dir",))
    if given and Path(given).is_dir():
        _hold(Path(given))  # another run writing there: refused before Hydra rewrites its records
        _refuse_reuse(Path(given), (argv_value(argv, ("output.overwrite",)) or "").lower() == "true")


_before: Leftovers | None = None
_finished: list[Path] = []  # the run's folder once all is written: a late Ctrl-C must not remove it


def _titled(params: Params) -> Params:
    """The params with the run's full title (scenario, preset, the command line's settings), so the
    printout, timeline.png and dispatch.md all say what was run."""
    from hydra.core.hydra_config import HydraConfig

    from aidsim.report.labels import run_title

    s = params.scenario
    title = run_title(s.title, s.name, HydraConfig.get().overrides.task)
    return params.model_copy(update={"scenario": s.model_copy(update={"title": title})})


def _import_model() -> None:
    """Import Mesa and the model in a short-lived thread: Mesa's module loggers call
    `inspect.stack()` at import, which reads the source of every frame; under Hydra's deep stack that
    costs about 0.3 s, in a fresh thread almost nothing. The thread has ended before anything forks."""
    import threading

    thread = threading.Thread(target=__import__, args=("aidsim.model.model",), name="aidsim-import")
    thread.start()
    thread.join()


_held: dict[Path, int] = {}
"""Run folders this process has locked (`_hold`), so that a folder locked before Hydra ran is not
locked again (a second flock by the same process would be refused)."""


def _hold(out: Path) -> int:
    """Lock the run folder for this run (an flock on the folder itself, freed by the kernel when the
    process ends, however it ends); a second run into the same folder at once gets one line."""
    import fcntl

    key = out.resolve()
    if key in _held:
        return _held[key]
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(f"hydra.run.dir={str(out)!r}: in use by another aidsim run; wait for it to finish or choose another folder") from None
    _held[key] = fd
    return fd


def _release(out: Path) -> None:
    fd = _held.pop(out.resolve(), None)
    if fd is not None:
        os.close(fd)  # the run is over: the folder's lock goes


def _run(cfg: DictConfig) -> None:
    out = output_dir()
    figure: FigureProcess | None = None
    _hold(out)  # refused here, the folder is the other run's: nothing is cleaned
    try:
        _refuse_reuse(out, (cfg.get("output") or {}).get("overwrite"))
        params = _titled(checked_params(cfg))
        from aidsim.report.style import use_names

        use_names(params.actors)  # the run's own donor names, in the figure process too
        figure = timeline_process(cfg)  # forked before `_import_model` starts a thread
        _import_model()
        resume_gc()
        from aidsim.model.model import AidModel

        start = time.perf_counter()
        model = AidModel(params).run()
        seconds = time.perf_counter() - start
        summary, runs = write_run(out, params, model, cfg, seconds, figure)
    except BaseException:
        if figure is not None:
            figure.cancel()
        if _before is not None:
            _before.clean(out)
        raise
    finally:
        _release(out)
    print(f"{params.scenario.title or params.scenario.name}: {model.worlds} worlds x {params.horizon_days} days, seed {params.seed} ({seconds:.2f} s)")
    print(format_summary(summary, runs))
    print(f"results: {out}")
    _finished.append(out)


def _checked_app() -> None:
    """The app, after the checks that must come before Hydra writes anything."""
    _refuse_reuse_early(sys.argv[1:])
    _app()()


def _app() -> Any:
    """The Hydra entry point (Hydra is imported only when the command really runs)."""
    from aidsim.model.config import conf_dir

    return hydra_app(_run, conf_dir(), "config")


def main() -> None:
    """`aidsim`: see docs/cli.md. `--help` is answered without importing Hydra."""
    global _before
    if quick_help("aidsim", "config", SUMMARY, sys.argv[1:]):
        return
    _before = Leftovers(sys.argv[1:], "results/runs", ("hydra.run.dir",))
    got: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        got.append(signum)
        raise KeyboardInterrupt  # SIGTERM ends the run like Ctrl-C: what it made is removed

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with startup_gc():
            guarded(_checked_app, "aidsim")()
    except KeyboardInterrupt:
        how = "stopped (SIGTERM)" if got else "interrupted"
        if _finished:
            print(f"aidsim: {how} after the run was written; it is kept: {_finished[0]}", file=sys.stderr)
            sys.exit(143 if got else 130)
        if _before is not None and _before.named is not None:  # stopped before the run began: what Hydra made goes too
            _before.clean(_before.named)
        print(f"aidsim: {how}; nothing of this run is kept", file=sys.stderr)
        sys.exit(143 if got else 130)
    finally:
        signal.signal(signal.SIGTERM, previous)
