"""The console scripts as a user meets them: outputs of a run, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

BIN = Path(sys.executable).parent


def aidsim(*args: str, prog: str = "aidsim") -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / prog), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("run")
    proc = aidsim("replicates=300", f"hydra.run.dir={out}")
    return out, proc


def test_run_prints_the_donor_table_and_where_results_are(run_dir):
    out, proc = run_dir
    assert proc.returncode == 0, proc.stderr
    for donor in ("russia", "china", "south_korea", "united_states", "un_agencies", "red_cross", "ngos"):
        assert donor in proc.stdout
    assert "accepted" in proc.stdout and "median domestic share" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == f"results: {out}"
    assert "Step" not in proc.stderr  # Mesa's per-step INFO logging is silenced


def test_run_writes_the_results_folder(run_dir):
    out, _ = run_dir
    for name in ("responses.parquet", "runs.parquet", "summary.csv", "dispatch.md", "timeline.png", "config.yaml", "provenance.json"):
        assert (out / name).is_file(), name
    resp = pd.read_parquet(out / "responses.parquet")
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(resp) == 300 * 7 and len(runs) == 300
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 2024 and prov["packages"]["mesa"] == "3.5.1" and prov["git_commit"]
    dispatch = (out / "dispatch.md").read_text()
    assert "Day 0" in dispatch and "Seoul offers relief supplies through the Red Cross" in dispatch
    assert not list(out.glob(".*.tmp"))  # no temporary files left behind


def test_overrides_reach_the_model(tmp_path):
    proc = aidsim("scenario=floods_2007", "replicates=200", "tension.inter_korean=0.3", f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    cfg = (tmp_path / "config.yaml").read_text()
    assert "inter_korean: 0.3" in cfg and "severity: 80.0" in cfg


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("flood.severity=abc", "flood.severity='abc'"),
        ("flood.severity=-1", "flood.severity=-1"),
        ("replicates=0", "replicates=0"),
        ("tension.inter_koren=0.5", "tension.inter_koren: unknown key; allowed keys here: inter_korean, us_dprk"),
        ("+tension.inter_koren=0.5", "tension.inter_koren: unknown key"),
        ("scenario=nope", "scenario=nope: unknown preset; available: amnok_2024"),
        ("actors.russia.channel=fax", "allowed: 'direct', 'red_cross', 'un' or 'ngo'"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(tmp_path, arg, expected):
    proc = aidsim(arg, f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("aidsim: error: ") and expected in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "responses.parquet").exists()


def test_validate_scores_the_shipped_episodes_beside_the_baselines(tmp_path):
    proc = aidsim("replicates=300", f"hydra.run.dir={tmp_path}", prog="aidsim-validate")
    assert proc.returncode == 0, proc.stderr
    last = dict(kv.split("=") for kv in proc.stdout.strip().splitlines()[-1].split())
    assert list(last) == ["accuracy", "brier", "baseline", "episodes"]
    assert float(last["accuracy"]) >= float(last["baseline"])  # in sample, the fitted model beats the trivial rules
    df = pd.read_csv(tmp_path / "validation.csv")
    assert list(df.columns[:5]) == ["episode", "donor", "observed", "predicted_mode", "p_observed"]
    assert df["episode"].nunique() == int(last["episodes"]) >= 15


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("replicates=abc", "replicates='abc'"),
        ("seed=-1", "seed=-1"),
        ("report=maybe", "report='maybe'"),
        ("cv=kfold", "cv='kfold'"),
        ("resample=10", "resample=10"),
        ("calibration.worlds=abc", "calibration.worlds='abc'"),  # checked with cv=none too, though only cv=loeo fits
        ("calibration.refine=true", "calibration.refine=true"),  # a flag is not a count (pydantic alone would read 1)
        ("calibration.workers=false", "calibration.workers=false"),
    ],
)
def test_validate_checks_its_own_keys_in_one_line(tmp_path, arg, expected):
    proc = aidsim(arg, f"hydra.run.dir={tmp_path}", prog="aidsim-validate")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("aidsim-validate: error: ") and expected in lines[0] and "allowed" in lines[0]
    assert not (tmp_path / "validation.csv").exists()


@pytest.mark.parametrize(
    ("prog", "arg", "expected"),
    [
        # a model key is not one of these commands' keys: the line lists the command's own, not the model's
        ("aidsim-validate", "dprk.capacity=1", "dprk: unknown key; allowed keys here: calibration, cv, episodes_dir, replicates, report, report_path"),
        ("aidsim-calibrate", "flood.severity=2", "flood: unknown key; allowed keys here: calibration, episodes_dir, preset_path"),
        ("aidsim-validate", "calibration.trails=5", "calibration.trails: unknown key; allowed keys here: anchors, parameters, recheck"),
        # `+` adds a key, which the command would otherwise ignore without a word
        ("aidsim-calibrate", "+episode_dir=x", "episode_dir: unknown key; allowed keys here: calibration, episodes_dir, preset_path"),
        ("aidsim-validate", "+foo=1", "foo: unknown key; allowed keys here: calibration, cv, episodes_dir"),
    ],
)
def test_validate_and_calibrate_name_their_own_keys_for_an_unknown_one(tmp_path, prog, arg, expected):
    proc = aidsim(arg, f"hydra.run.dir={tmp_path}", prog=prog)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{prog}: error: {expected}"), lines[0]


@pytest.mark.parametrize("arg", ["episodes_dir=5", "preset_path=true"])
def test_calibrate_paths_that_are_not_paths_get_one_line(tmp_path, arg):
    proc = aidsim(arg, f"hydra.run.dir={tmp_path}", prog="aidsim-calibrate")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"aidsim-calibrate: error: {arg.split('=')[0]}=") and "allowed: a path" in lines[0]


def test_validate_names_the_file_and_field_of_a_malformed_episode(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: x\ntitle: y\nscenario: amnok_2024\nobserved: {russia: maybe}\nsources: [a]\n")
    proc = aidsim(f"episodes_dir={tmp_path}", f"hydra.run.dir={tmp_path / 'out'}", prog="aidsim-validate")
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "bad.yaml" in line and "observed.russia='maybe'" in line and "\n" not in line


@pytest.mark.parametrize("name", ["../../escaped", "..", "", "a/b"])
def test_a_scenario_name_that_is_a_path_is_refused_before_any_folder_is_made(tmp_path, name):
    done = subprocess.run([str(BIN / "aidsim"), "replicates=20", f"scenario.name={name}"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "scenario.name=" in done.stderr and "plain name" in done.stderr
    assert not list(tmp_path.parent.glob("escaped")) and not list(tmp_path.iterdir())


def test_a_failed_run_removes_only_what_it_made(tmp_path):
    own = tmp_path / "mine"
    (own / ".hydra").mkdir(parents=True)
    (own / "notes.log").write_text("precious")
    done = aidsim("replicates=20", "output.dispatch_replicate=50", f"hydra.run.dir={own}")
    assert done.returncode == 2
    assert (own / "notes.log").read_text() == "precious" and (own / ".hydra").is_dir()
    assert not (own / "run.log").exists()
    (tmp_path / "e1" / "e2").mkdir(parents=True)
    done = aidsim("replicates=20", "output.dispatch_replicate=50", f"hydra.run.dir={tmp_path / 'e1' / 'e2' / 'new' / 'run'}")
    assert done.returncode == 2
    assert (tmp_path / "e1" / "e2").is_dir() and not (tmp_path / "e1" / "e2" / "new").exists()  # made by the run: gone; the user's: kept


def test_a_second_run_into_a_folder_in_use_is_refused_in_one_line(tmp_path):
    import fcntl
    import os

    fd = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a run in progress holds
    try:
        done = aidsim("replicates=20", f"hydra.run.dir={tmp_path}")
    finally:
        os.close(fd)
    assert done.returncode == 2 and done.stderr.strip().endswith("in use by another aidsim run; wait for it to finish or choose another folder")
    assert not (tmp_path / "responses.parquet").exists() and not (tmp_path / ".hydra").exists()  # refused before Hydra wrote there


@pytest.mark.parametrize("override", ["dprk.rung_thresholds=[nan,nan,nan]", "dprk.rung_thresholds=[1,inf,3]", "dprk.image_weight=nan", "flood.severity=inf"])
def test_nan_and_infinity_are_refused_where_a_range_check_would_pass_them(override):
    from aidsim.model.config import load
    from aidsim.model.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        load([override])
    assert "\n" not in str(err.value) and override.split("=")[0].split("[")[0] in str(err.value)


def test_a_config_tree_that_is_not_utf8_is_one_line(tmp_path):
    import shutil

    from aidsim.model.config import conf_dir

    tree = tmp_path / "conf"
    shutil.copytree(conf_dir(), tree)
    with open(tree / "config.yaml", "ab") as f:
        f.write(b"\xff")
    done = aidsim("--config-path", str(tree), "replicates=20", f"hydra.run.dir={tmp_path / 'run'}")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "not UTF-8" in done.stderr


def test_an_unwritable_run_folder_is_one_line(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "run.log").mkdir()  # Hydra's log file cannot be opened (a folder is in its place), even as root
    done = aidsim("replicates=20", f"hydra.run.dir={folder}")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "run.log: cannot write or read" in done.stderr


@pytest.mark.parametrize("prog, args", [("aidsim-plot", []), ("aidsim-app", ["--port", "abc"])])
def test_option_errors_of_the_plain_commands_are_one_line(prog, args):
    done = aidsim(*args, prog=prog)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and done.stderr.startswith(f"{prog}: error: ")


REFUSED = [
    ("aidsim-validate", ["calibration.workers=true"]),
    ("aidsim-calibrate", ["+calibration.anchors.floods_207=2"]),  # a misspelt episode would be silently unweighted
    ("aidsim-calibrate", ["calibration.anchors.amnok_2024=-5"]),
    ("aidsim-analyze", ["sensitivity.sobol_n=100"]),
]


@pytest.mark.parametrize("prog, args", REFUSED)
def test_a_refused_command_leaves_no_log_folder(tmp_path, prog, args):
    done = subprocess.run([str(BIN / prog), *args], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert not list(tmp_path.iterdir())  # Hydra had made results/<command>/<time>/ with .hydra/ and a log


def test_a_refused_rerun_into_a_run_folder_leaves_its_records_as_they_were(tmp_path):
    out = tmp_path / "run"
    assert aidsim("replicates=20", f"hydra.run.dir={out}").returncode == 0
    before = {p.name: p.read_bytes() for p in (out / ".hydra").iterdir()}
    again = aidsim("replicates=30", f"hydra.run.dir={out}")
    assert again.returncode == 2 and "already holds a run" in again.stderr
    assert {p.name: p.read_bytes() for p in (out / ".hydra").iterdir()} == before  # Hydra never got to rewrite them


def test_a_console_that_cannot_show_a_letter_gets_an_escape_not_a_traceback(tmp_path):
    import os

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    args = [str(BIN / "aidsim"), "scenario.title='Café'", "replicates=20", f"hydra.run.dir={tmp_path / 'run'}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and done.stdout.startswith("Caf\\xe9") and "Traceback" not in done.stderr


def test_a_run_stopped_by_sigterm_says_so_in_one_line_and_leaves_nothing(tmp_path):
    import signal
    import time

    out = tmp_path / "run"
    proc = subprocess.Popen([str(BIN / "aidsim"), "replicates=2000", f"hydra.run.dir={out}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / ".hydra").is_dir() and time.monotonic() < deadline:  # Hydra has made the folder: Mesa's import is still to come
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and err == "aidsim: stopped (SIGTERM); nothing of this run is kept\n"
    assert not out.exists()
