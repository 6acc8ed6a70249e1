"""aidsim-sweep end to end: a named study, Hydra -m, launchers, interruptions, and bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from aidsim.cli import sweep
from aidsim.model.config import compose
from aidsim.runs import batch, study
from aidsim.runs import store as results

BIN = Path(sys.executable).parent


def aidsim_sweep(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "aidsim-sweep"), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def in_process(monkeypatch, capsys, cwd: Path, *args: str) -> tuple[int, str, str]:
    """Run aidsim-sweep's main() here (no interpreter start-up): (exit code, stdout, stderr)."""
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["aidsim-sweep", *args])
    code = 0
    try:
        sweep.main()
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_named_study_runs_resumes_and_draws(tmp_path, monkeypatch, capsys):
    args = ("experiment=severity_line", "replicates=30", "sweep.dir=out", "sweep.chunk_worlds=200")
    first = aidsim_sweep(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "severity_line: 21 cells, 630 runs" in first.stdout
    runs = results.load(tmp_path / "out", "runs")
    assert runs.groupby("flood.severity").size().eq(30).all() and len(runs) == 630
    assert {p.name for p in (tmp_path / "out" / "figures").iterdir()} == {"p_accepted_lines.png", "p_accepted_lines.svg"}
    code, again, _ = in_process(monkeypatch, capsys, tmp_path, *args, "sweep.plots=false")
    assert code == 0 and "nothing left to run" in again and "4 of 4 chunks were already done" in again
    code, forced, _ = in_process(monkeypatch, capsys, tmp_path, *args, "sweep.plots=false", "--force")
    assert code == 0 and "0 of 4 chunks were already done" in forced


@pytest.mark.parametrize(
    "override, message",
    [
        ("sweep.grid={flood.severity:[-1]}", "flood.severity=-1"),
        ("sweep.grid={tension.inter_koren:[0.1]}", "tension.inter_koren: unknown key"),
        ("sweep.grid={flood.severity:3}", "sweep.grid.flood.severity=3: allowed: a non-empty list"),
        ("sweep.sample={method:sobol,n:100,ranges:{flood.severity:[1,10]}}", "needs a power of 2 (e.g. 128)"),
        ("sweep.sample={method:grid,n:8,ranges:{flood.severity:[1,10]}}", "sweep.sample.method='grid': allowed: lhs, sobol"),
        ("sweep.workers=0", "sweep.workers=0: allowed: a whole number >= 1 and <= 4096 or null"),
        ("sweep.force=no", "sweep.force='no': allowed: true or false"),
        ("sweep.study=café", "must be quoted: 'sweep.study=\"café\"'"),
        ("sweep.study=../../etc", "sweep.study='../../etc': allowed: a plain name"),
        ("tension.us_dprk=true", "tension.us_dprk=true: allowed: a number"),
        ("experiment=nope", "experiment=nope: unknown preset; available: "),
    ],
)
def test_bad_input_is_one_line(tmp_path, monkeypatch, capsys, override, message):
    code, _, err = in_process(monkeypatch, capsys, tmp_path, override, "replicates=5", "sweep.dir=out")
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err, err


def test_bad_input_from_the_console_script(tmp_path):
    out = aidsim_sweep("sweep.grid={flood.severity:[-1]}", "sweep.dir=out", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.startswith("aidsim-sweep: error: flood.severity=-1") and out.stderr.count("\n") == 1


def psutil_children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (read from /proc: no psutil needed)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def test_two_sweeps_on_one_store_the_second_is_refused(tmp_path):
    overrides = ("experiment=severity_line", "replicates=3000", "sweep.chunk_worlds=300", "sweep.workers=1", "sweep.dir=busy", "sweep.plots=false")
    first = subprocess.Popen([str(BIN / "aidsim-sweep"), *overrides], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "busy" / "manifest.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = aidsim_sweep(*overrides, cwd=tmp_path)
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 2 and "in use by another aidsim-sweep (pid" in second.stderr and second.stderr.count("\n") == 1
    assert len(results.load(tmp_path / "busy", "runs")) == 21 * 3000  # no duplicates


def _uninterrupted(tmp_path: Path, *overrides: str) -> Path:
    root = tmp_path / "reference"
    cfg = compose([*overrides, f"sweep.dir={root}", "sweep.plots=false"], config_name="sweep")
    study.run_study(cfg, root)
    return root


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "sigterm", "kill-9"])
def test_interrupted_sweep_resumes_to_the_same_data(tmp_path, how):
    overrides = ("experiment=tension_x_severity", "replicates=200", "sweep.chunk_worlds=1000", "sweep.workers=2")
    proc = subprocess.Popen(
        [str(BIN / "aidsim-sweep"), *overrides, "sweep.dir=cut", "sweep.plots=false"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal: a suite started in the background (`make test &`) hands its
        # children SIGINT ignored, and the sweep rightly keeps that
        preexec_fn=_sigint_default,
    )
    runs = tmp_path / "cut" / "runs"
    deadline = time.monotonic() + 300
    while not (runs.is_dir() and len(list(runs.glob("chunk-*.parquet"))) >= 3) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(how)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -9}[how]
    if how != signal.SIGKILL:  # one line, no worker tracebacks (BrokenPipeError)
        assert "finished chunks are kept" in err and err.count("\n") == 1, err
    st = results.Store(tmp_path / "cut")
    assert st.manifest()["status"] == ("running" if how == signal.SIGKILL else "interrupted")
    assert len(st.done()) < st.manifest()["chunks"]
    time.sleep(0.5)
    assert not psutil_children(proc.pid), "pool workers outlived their parent"
    resumed = aidsim_sweep(*overrides, "sweep.dir=cut", "sweep.plots=false", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert st.manifest()["status"] == "complete"
    reference = _uninterrupted(tmp_path, *overrides)
    for table in results.TABLES:
        pd.testing.assert_frame_equal(results.load(tmp_path / "cut", table), results.load(reference, table))


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["local", "submitit_local"])
def test_multirun_one_job_per_cell(tmp_path, launcher):
    plots = "true" if launcher == "local" else "false"  # the figures callback is the same for both
    out = aidsim_sweep(
        "-m",
        f"launcher={launcher}",
        "tension.inter_korean=0.2,0.8",
        "flood.severity=1,20",
        "replicates=40",
        "sweep.dir=mr",
        f"sweep.plots={plots}",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    jobs = sorted(p.name for p in (tmp_path / "mr" / "jobs").iterdir())
    assert len(jobs) == 4 and "flood.severity=20,replicates=40,tension.inter_korean=0.8" in jobs
    runs = results.load(tmp_path / "mr", "runs")
    assert sorted(runs["cell"].unique()) == [0, 1, 2, 3] and len(runs) == 160
    # each job's rows equal the same cell run in-process
    cfg = compose(["replicates=40", "sweep.plots=false"], config_name="sweep")
    cell = {"tension.inter_korean": 0.8, "flood.severity": 20.0}
    mem, _ = batch.evaluate(cfg, [cell])
    job = runs[(runs["tension.inter_korean"] == 0.8) & (runs["flood.severity"] == 20.0)]
    pd.testing.assert_frame_equal(job[mem.columns[1:]].reset_index(drop=True), mem.drop(columns="cell"))
    assert (tmp_path / "mr" / "figures" / "p_accepted.png").is_file() == (launcher == "local")  # drawn once, after the last job


@pytest.mark.slow
def test_ray_launcher(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    out = aidsim_sweep("-m", "launcher=ray", "tension.inter_korean=0.2,0.8", "replicates=40", "sweep.dir=ray", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(results.load(tmp_path / "ray", "runs")) == 80


def on_a_terminal(*args: str, cwd: Path, columns: int) -> tuple[int, str]:
    """Run aidsim-sweep with stdout and stderr on a pseudo-terminal `columns` wide (0: a terminal that
    reports no size, as under `script` or in some CI runners): (exit code, what it showed)."""
    import fcntl
    import pty
    import struct
    import termios

    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen([str(BIN / "aidsim-sweep"), *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=child, stderr=child)
    os.close(child)
    shown = b""
    while True:
        try:
            data = os.read(parent, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not data:
            break
        shown += data
    os.close(parent)
    return proc.wait(timeout=600), shown.decode(errors="replace")


def test_progress_bar_only_on_a_terminal(tmp_path, monkeypatch, capsys):
    code, _, err = in_process(monkeypatch, capsys, tmp_path, "replicates=20", "sweep.dir=p", "sweep.plots=false")
    assert code == 0 and "runs/s]" not in err  # stderr is captured here, not a terminal: no bar
    assert os.path.isfile(tmp_path / "p" / "manifest.json")


def test_progress_bar_shows_on_a_terminal(tmp_path):
    # The bar (tqdm: "<desc>: 100%|...| 2.20k/2.20k [00:01<00:00, 1.50kruns/s]") on a real terminal,
    # and not with --no-progress: a broken or silenced bar fails here.
    args = ("experiment=severity_line", "replicates=100", "sweep.chunk_worlds=500", "sweep.workers=1", "sweep.plots=false")
    code, shown = on_a_terminal(*args, "sweep.dir=bar", cwd=tmp_path, columns=0)
    assert code == 0, shown
    assert "100%|" in shown and "runs/s]" in shown and "2.10k/2.10k" in shown, shown
    code, shown = on_a_terminal(*args, "sweep.dir=quiet", "--no-progress", cwd=tmp_path, columns=100)
    assert code == 0, shown
    assert "runs/s]" not in shown and "100%|" not in shown, shown


def test_a_refused_sweep_leaves_nothing_behind_but_the_users_files(tmp_path):
    out = aidsim_sweep("sweep.grid={output.figures:[true,false]}", "sweep.study=g", "replicates=20", cwd=tmp_path)
    assert out.returncode == 2 and "output.figures: not a setting of the model" in out.stderr and out.stderr.count("\n") == 1
    assert not (tmp_path / "results").exists()  # Hydra had made results/sweeps/g/.hydra and sweep.log
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    out = aidsim_sweep("sweep.grid={flood.severity:[-1]}", f"sweep.dir={mine}", "replicates=20", cwd=tmp_path)
    assert out.returncode == 2 and sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    # the same folder reached by its study name under the default root
    study = tmp_path / "results" / "sweeps" / "mine"
    study.mkdir(parents=True)
    (study / "notes.txt").write_text("mine")
    out = aidsim_sweep("sweep.grid={flood.severity:[-1]}", "sweep.study=mine", "replicates=20", cwd=tmp_path)
    assert out.returncode == 2 and sorted(p.name for p in study.iterdir()) == ["notes.txt"]


def test_a_store_in_use_is_refused_before_hydra_rewrites_its_records(tmp_path):
    import fcntl
    import os

    assert aidsim_sweep("sweep.grid={flood.severity:[1]}", "replicates=10", "sweep.dir=busy", "sweep.plots=false", cwd=tmp_path).returncode == 0
    records = {p.name: p.read_bytes() for p in (tmp_path / "busy" / ".hydra").iterdir()}
    fd = os.open(tmp_path / "busy" / ".lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a session in progress holds
    try:
        out = aidsim_sweep("sweep.grid={flood.severity:[1]}", "replicates=20", "sweep.dir=busy", cwd=tmp_path)
    finally:
        os.close(fd)
    assert out.returncode == 2 and "in use by another aidsim-sweep" in out.stderr and out.stderr.count("\n") == 1
    assert {p.name: p.read_bytes() for p in (tmp_path / "busy" / ".hydra").iterdir()} == records


def test_a_bad_value_in_a_multirun_sweep_is_refused_before_any_job_runs(tmp_path):
    out = aidsim_sweep("-m", "flood.severity=1,-2", "replicates=10", "sweep.study=mm", "sweep.workers=1", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.strip() == "aidsim-sweep: error: flood.severity=-2: allowed: a number > 0 and <= 1000"
    assert not (tmp_path / "results").exists()  # job 1 did not run first
