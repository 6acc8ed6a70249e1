"""`aidsim-sweep`: a grid or sampled study into the results store; Hydra `-m` compatible."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aidsim.cli.guard import guarded, quick_help
from aidsim.cli.startup import Leftovers, argv_value

if TYPE_CHECKING:
    from omegaconf import DictConfig

SUMMARY = "a study (parameter cells x replicate worlds) into a resumable results store; --force, --no-progress; docs/scaling.md"


def _job_labels(cfg: DictConfig) -> dict[str, Any]:
    """A Hydra -m job's own overrides of the model (its cell), as constant columns."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from aidsim.model.config import to_params
    from aidsim.runs.cells import RUNTIME_KEYS, knob

    hc = HydraConfig.get()
    choices, params = hc.runtime.choices, to_params(cfg)
    labels: dict[str, Any] = {}
    for o in OverridesParser.create().parse_overrides(list(hc.overrides.task)):
        key = o.key_or_group
        if key.split(".")[0] in RUNTIME_KEYS or key in ("launcher", "hydra") or o.is_delete():
            continue
        labels[key] = choices[key] if key in choices else knob(params, key)  # a preset's name, or the typed knob
    return labels


def _base_title(cfg: DictConfig, labels: dict[str, Any]) -> str:
    """What the study's cells vary around: its scenario, preset and other settings (the swept knobs and
    a -m job's own labels left out)."""
    from hydra.core.hydra_config import HydraConfig

    from aidsim.report.labels import config_title

    sample = cfg.sweep.sample or {}
    return config_title(cfg, exclude={*(cfg.sweep.grid or {}), *(sample.get("ranges") or {}), *labels}, choices=HydraConfig.get().runtime.choices)


def _figures(root: Path | str) -> list[Path]:
    from aidsim.report import figures

    return figures.study_figures(root)


def _sweep(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from aidsim.runs.study import run_study

    hc = HydraConfig.get()
    labels: dict[str, Any] = {}
    if hc.mode == RunMode.MULTIRUN:  # one job = its overrides' cell (x the study's grid, if any)
        labels = _job_labels(cfg)
        root = Path(hc.runtime.output_dir)
        result = run_study(cfg, root, labels=labels, drop=labels)
    else:
        root = Path(cfg.sweep.dir)
        try:
            result = run_study(cfg, root)
        except BaseException:
            if _leftovers is not None and not (root / "manifest.json").exists():
                _leftovers.clean(root)  # refused before the store began: what Hydra made goes too
            raise
    from aidsim.report.labels import count

    rate = f"{result['runs_per_s']:,} runs/s" if result["runs_per_s"] else "nothing left to run"
    print(
        f"{result['study']}: {result['cells']} cells, {result['runs']:,} runs in {result['seconds']:.1f} s "
        f"({rate}, {count(result['workers'], 'worker')}; {result['chunks_resumed']} of {result['chunks']} chunks were already done)"
    )
    print(f"base: {_base_title(cfg, labels)}")
    print(f"results: {root}")
    if cfg.sweep.plots and hc.mode != RunMode.MULTIRUN:
        print(f"figures: {root / 'figures'} ({count(len(_figures(root)), 'file')})")


def _figures_at_end() -> type:
    from hydra.experimental.callback import Callback

    class FiguresAtEnd(Callback):
        """Hydra callback: after a -m sweep's last job, draw the whole study's figures."""

        def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
            if config.sweep.plots:
                files = _figures(config.sweep.dir)
                from aidsim.report.labels import count

                print(f"figures: {Path(config.sweep.dir) / 'figures'} ({count(len(files), 'file')})")

    FiguresAtEnd.__module__ = __name__
    FiguresAtEnd.__qualname__ = "FiguresAtEnd"
    return FiguresAtEnd


def __getattr__(name: str) -> Any:
    # conf/launcher/*.yaml name `aidsim.cli.sweep.FiguresAtEnd`; built on first use so that importing
    # this module (and `--help`) does not import Hydra.
    if name == "FiguresAtEnd":
        cls = _figures_at_end()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _app() -> Any:
    import hydra

    from aidsim.model.config import conf_dir

    return hydra.main(config_path=str(conf_dir()), config_name="sweep", version_base="1.3")(_sweep)


_FLAGS = {"--force": "sweep.force=true", "--no-progress": "sweep.progress=false"}


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM (kill, a scheduler's stop) ends the session like Ctrl-C


_leftovers: Leftovers | None = None


def _named_store(argv: list[str]) -> Path | None:
    """The store a command line names (`sweep.dir`, or `sweep.study` under results/sweeps/); None
    if its folder comes from a config file."""
    from aidsim.model.errors import is_plain_name

    folder = argv_value(argv, ("hydra.run.dir", "sweep.dir"))
    study = argv_value(argv, ("sweep.study",))
    return Path(folder) if folder else Path("results/sweeps") / study if study and is_plain_name(study) else None


def _checked_app() -> None:
    """The app, after the checks that must come before Hydra writes its records (.hydra/) into the
    store's folder: a store another session holds is refused here, its records untouched."""
    from aidsim.runs.store import Store

    root = _named_store(sys.argv[1:])
    if root is not None:
        Store(root).check_free()
    if any(a in ("-m", "--multirun") for a in sys.argv[1:]):
        _check_swept_values(sys.argv[1:])
    _app()()


def _check_swept_values(argv: list[str]) -> None:
    """Every value a `-m` sweep gives a model key, each checked on the study's base config before
    the first job runs: otherwise job 1 runs and fills its store before job 2's bad value is
    refused. (Values that are only wrong in combination are still refused by their job.)"""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ValueType
    from omegaconf import OmegaConf

    from aidsim.model.config import compose, groups
    from aidsim.runs.cells import RUNTIME_KEYS, cell_params

    if any(a.split("=")[0] in ("--config-path", "-cp", "--config-dir", "-cd") for a in argv):
        return  # a config tree of the user's: its jobs check their values
    overrides = [a for a in argv if not a.startswith("-")]
    parsed = OverridesParser.create().parse_overrides(overrides)
    swept = [o for o in parsed if o.is_sweep_override() and o.value_type != ValueType.GLOB_CHOICE_SWEEP]

    def is_model_key(key: str) -> bool:  # not a preset choice (`flood=minor`), nor a tool's or Hydra's key
        return "/" not in key and not ("." not in key and key in groups()) and key.split(".")[0] not in RUNTIME_KEYS

    model = [o for o in swept if is_model_key(o.key_or_group)]
    if not model:
        return
    composed = compose([a for a, o in zip(overrides, parsed, strict=True) if not o.is_sweep_override()], config_name="sweep")
    # the model's part only: the tools' sections may interpolate Hydra's own config, not set yet
    base = OmegaConf.masked_copy(composed, [k for k in composed if k not in RUNTIME_KEYS])
    for o in model:
        for value in o.sweep_iterator():
            cell_params(base, {o.key_or_group: value})


def main() -> None:
    """`aidsim-sweep`: a Hydra app; `--force` and `--no-progress` are shorthands for
    `sweep.force=true` and `sweep.progress=false`. Ctrl-C and SIGTERM stop it in one line (exit
    130 and 143), keeping finished chunks."""
    global _leftovers
    if quick_help("aidsim-sweep", "sweep", SUMMARY, sys.argv[1:]):
        return
    from aidsim.runs.workers import warm_up

    _leftovers = Leftovers(sys.argv[1:], "results/sweeps", ("hydra.run.dir", "sweep.dir"))
    warm_up()  # the workers' fork server loads the model while Hydra reads the config
    sys.argv = [_FLAGS.get(a, a) for a in sys.argv]
    previous = signal.signal(signal.SIGTERM, _terminate)
    got: list[int] = []

    def note_term(signum: int, frame: Any) -> None:
        from aidsim.runs.workers import request_stop

        got.append(signum)
        request_stop()  # should the KeyboardInterrupt below be swallowed, the next chunk stops the session
        _terminate(signum, frame)

    signal.signal(signal.SIGTERM, note_term)
    try:
        guarded(_checked_app, "aidsim-sweep")()
        if got:  # the signal came as the study finished: still say so, and exit as stopped
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        how = "stopped (SIGTERM)" if got else "interrupted"
        print(f"aidsim-sweep: {how}; finished chunks are kept: run the same command to resume", file=sys.stderr)
        sys.exit(143 if got else 130)
    finally:
        signal.signal(signal.SIGTERM, previous)
