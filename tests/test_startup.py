"""Start-up shortcuts (aidsim.cli.startup) change nothing a user sees: a plain run composed once writes
what `hydra.main` writes, the garbage collector is back on afterwards, and a figure drawn in the
figure process is the one drawn in the run's own process."""

from __future__ import annotations

import gc
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aidsim.cli import run as cli_run
from aidsim.cli.startup import FigureProcess, _plain_run, resume_gc, startup_gc
from aidsim.model.config import compose, conf_dir
from aidsim.model.model import AidModel

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("argv", "plain"),
    [
        ([], True),
        (["replicates=50", "+tension.x=1", "~events", "hydra.run.dir=out", "flood.severity=1,2"], True),
        (["--cfg", "job"], False),
        (["-m", "replicates=1,2"], False),
        (["--run", "replicates=5"], False),
        (["hydra.mode=MULTIRUN"], False),
        (["++hydra.mode=RUN"], False),
        (["hydra={mode: MULTIRUN}"], False),
    ],
)
def test_only_a_command_line_of_overrides_takes_the_short_way(argv, plain):
    assert _plain_run(argv) is plain


def test_no_config_file_sets_hydra_mode():
    # the short way assumes it (startup.hydra_app): Hydra would otherwise pick the mode from the file
    for path in conf_dir().rglob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        hydra = doc.get("hydra") if isinstance(doc, dict) else None
        assert not (isinstance(hydra, dict) and "mode" in hydra), path


def _run(*args: str, cwd: Path) -> tuple[str, dict[str, bytes]]:
    """A run's printout and its files (but the provenance, which holds the time and the command),
    with the folder it ran in taken out."""
    proc = subprocess.run([str(BIN / "aidsim"), *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = cwd / "out"
    kept = (p for p in out.rglob("*") if p.is_file() and p.name != "provenance.json")
    files = {p.relative_to(out).as_posix(): p.read_bytes().replace(str(cwd).encode(), b"") for p in kept}
    return re.sub(r"\(\d+\.\d+ s\)", "(s)", proc.stdout).replace(str(cwd), ""), files


def test_a_plain_run_writes_what_hydra_main_writes(tmp_path):
    # `--run` is Hydra's default command spelt out: it takes hydra.main's way
    args = ("replicates=50", "output.figures=false", "tension.inter_korean=0.3", "hydra.run.dir=out")
    short, long = tmp_path / "short", tmp_path / "long"
    short.mkdir(), long.mkdir()
    out_short, files_short = _run(*args, cwd=short)
    out_long, files_long = _run("--run", *args, cwd=long)
    assert out_short == out_long
    assert {".hydra/hydra.yaml", ".hydra/overrides.yaml", "summary.csv", "runs.parquet"} <= set(files_short)
    assert files_short == files_long


def test_startup_gc_turns_the_collector_back_on_once():
    assert gc.isenabled()
    with startup_gc():
        assert not gc.isenabled()
        resume_gc()
        assert gc.isenabled()
        resume_gc()  # a second call changes nothing
        assert gc.isenabled()
    assert gc.isenabled()


def test_startup_gc_leaves_a_collector_the_caller_turned_off():
    gc.disable()
    try:
        with startup_gc():
            resume_gc()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_on_after_a_refused_run(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["aidsim", "flood.severityy=1", f"hydra.run.dir={tmp_path}"])
    with pytest.raises(SystemExit) as exc:
        cli_run.main()
    assert exc.value.code == 2
    assert gc.isenabled()


def _write_marker(path: Path, text: str) -> None:
    path.write_text(text)


def _fail(path: Path) -> None:
    raise OSError(28, "No space left on device", str(path))


def _fail_otherwise(path: Path) -> None:
    raise ValueError(f"{path}: cannot draw")


# Numpy's BLAS threads, left running by earlier tests, make Python warn at any fork; they are not
# Python threads and OpenBLAS re-initialises itself in a forked child.
forking = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


@forking
def test_the_figure_process_draws_what_it_is_handed(tmp_path):
    figure = FigureProcess(lambda: None, _write_marker)
    figure.draw(tmp_path / "out.txt", "drawn")
    figure.wait()
    assert (tmp_path / "out.txt").read_text() == "drawn"


@forking
def test_the_figure_process_reports_its_error_in_one_line(tmp_path):
    figure = FigureProcess(lambda: None, _fail)
    figure.draw(tmp_path / "timeline.png")
    with pytest.raises(OSError) as err:  # what the command's guard reports as one line naming the file
        figure.wait()
    assert err.value.errno == 28 and err.value.filename == str(tmp_path / "timeline.png")
    figure = FigureProcess(lambda: None, _fail_otherwise)
    figure.draw(tmp_path / "timeline.png")
    with pytest.raises(RuntimeError, match=r"^ValueError: .*timeline.png: cannot draw$"):
        figure.wait()


@forking
def test_a_cancelled_figure_process_is_gone():
    figure = FigureProcess(lambda: None, _write_marker)
    figure.cancel()
    assert not figure._process.is_alive()


@forking
def test_the_timeline_drawn_in_the_figure_process_is_the_one_drawn_here(tmp_path):
    cfg = compose(["replicates=50"])
    params = cli_run.checked_params(cfg)
    model = AidModel(params).run()
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    figure = cli_run.timeline_process(cfg)
    assert figure is not None, "no other Python thread runs here, so the run forks its figure process"
    cli_run.write_run(here, params, model, cfg, 0.0)
    cli_run.write_run(there, params, model, cfg, 0.0, figure)
    assert (here / "timeline.png").read_bytes() == (there / "timeline.png").read_bytes()


def _imported_packages(entry: str, argv: list[str], cwd: Path) -> set[str]:
    """Top-level packages a console script has imported when it exits on `argv`."""
    module, func = entry.split(":")
    code = (
        f"import sys\nsys.argv = {['aidsim', *argv]!r}\nfrom {module} import {func}\n"
        f"try:\n    {func}()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60)
    return set(proc.stderr.strip().splitlines()[-1].split())


HEAVY = {"mesa", "numpy", "pandas", "pyarrow", "matplotlib", "scipy", "SALib", "optuna"}


@pytest.mark.parametrize("entry", ["aidsim.cli.run:main", "aidsim.cli.sweep:main", "aidsim.cli.plot:main"])
def test_help_imports_neither_hydra_nor_pydantic_nor_the_model(entry, tmp_path):
    found = _imported_packages(entry, ["--help"], tmp_path)
    assert not found & (HEAVY | {"hydra", "pydantic", "omegaconf"}), found


COMMANDS = [f"aidsim.cli.{name}:main" for name in ("run", "sweep", "validate", "calibrate", "analyze")]


@pytest.mark.parametrize("entry", COMMANDS)
def test_a_bad_key_is_answered_before_the_model_and_its_tables_are_imported(tmp_path, entry):
    found = _imported_packages(entry, ["flood.severityy=1", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert "hydra" in found  # the override is parsed by Hydra's own grammar
    assert not found & HEAVY, found
    assert not (tmp_path / "run").exists()
