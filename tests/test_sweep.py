"""The sweep engine: stacked batches equal lone runs, results do not depend on workers or chunking,
the store resumes after an interruption to the same data, and bad designs get one line."""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from aidsim.model.config import compose, presets
from aidsim.model.errors import ConfigError
from aidsim.model.model import AidModel
from aidsim.runs import batch, designs, tables
from aidsim.runs import store as results
from aidsim.runs.cells import STACKABLE, cell_params, knob, model_dict
from aidsim.runs.study import run_study


def sweep_cfg(*overrides: str):
    return compose(["sweep.plots=false", "sweep.progress=false", *overrides], config_name="sweep")


@pytest.fixture(scope="module")
def busy():
    """A large flood (acceptances, deliveries, requests all happen) with 150 worlds per cell."""
    return sweep_cfg("replicates=150", "flood.severity=20")


def _other(value):
    """A different valid value for a knob (halved, or moved up from zero; day counts + 2)."""
    if isinstance(value, int):
        return value + 2
    return value * 0.5 if value > 0 else 0.3


@pytest.mark.parametrize("key", sorted(STACKABLE))
def test_stacked_batch_equals_lone_runs(busy, key):
    base_value = knob(cell_params(busy, {}), key)
    two = [{key: base_value}, {key: _other(base_value)}]
    assert len(batch.prepare(model_dict(busy), two).plan(10_000)) == 1, "the two cells should share one batch"
    runs, resp = batch.evaluate(busy, two)
    for i, cell in enumerate(two):
        lone_runs, lone_resp = batch.run_cell(cell_params(busy, cell), cell, i)
        pd.testing.assert_frame_equal(runs[runs.cell == i].reset_index(drop=True), lone_runs)
        pd.testing.assert_frame_equal(resp[resp.cell == i].reset_index(drop=True), lone_resp)
    assert not runs[runs.cell == 0].drop(columns=["cell", key]).equals(runs[runs.cell == 1].drop(columns=["cell", key])) or key in {
        "dprk.request_max_hostility",
        "flood.visibility",
        "relations.united_states",
        "tension.us_dprk",
    }, f"{key}: changing it changed nothing, so this test would not notice a stacking bug"


def test_scripted_events_shift_stacked_tension_world_by_world():
    cfg = sweep_cfg("scenario=tumen_2016", "replicates=100")
    cells = [{"tension.inter_korean": 0.1}, {"tension.inter_korean": 0.95}, {"relations.china": 0.05}]
    assert len(batch.prepare(model_dict(cfg), cells).plan(10_000)) == 1  # events shift per-world levels too: one batch
    runs, resp = batch.evaluate(cfg, cells)
    for i, cell in enumerate(cells):
        lone_runs, lone_resp = batch.run_cell(cell_params(cfg, cell), cell, i)
        keys = [k for c in cells for k in c if k not in cell]
        pd.testing.assert_frame_equal(runs[runs.cell == i].drop(columns=keys).reset_index(drop=True), lone_runs)
        pd.testing.assert_frame_equal(resp[resp.cell == i].drop(columns=keys).reset_index(drop=True), lone_resp)


def test_same_results_for_any_workers_and_chunking():
    cfg = sweep_cfg("replicates=90")
    cells = designs.grid_cells({"tension.inter_korean": [0.0, 0.5, 1.0], "flood.severity": [1.0, 30.0]})
    one = batch.evaluate(cfg, cells, workers=1, chunk_worlds=100_000)
    many = batch.evaluate(cfg, cells, workers=2, chunk_worlds=40)
    for a, b in zip(one, many, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_cell_rows_equal_a_plain_model_run():
    cfg = sweep_cfg("replicates=80")
    runs, resp = batch.evaluate(cfg, [{"flood.severity": 12.0}])
    model = AidModel(cell_params(cfg, {"flood.severity": 12.0}), record=False).run()
    assert list(runs.columns[:2]) == ["cell", "flood.severity"]
    pd.testing.assert_frame_equal(runs.iloc[:, 2:], tables.runs(model))
    pd.testing.assert_frame_equal(resp.iloc[:, 2:], tables.responses(model))


def test_knob_columns_are_typed_from_the_schema():
    runs, _ = batch.evaluate(sweep_cfg("replicates=5"), [{"tension.inter_korean": 0}, {"tension.inter_korean": 1}])
    assert runs["tension.inter_korean"].dtype == np.float64  # YAML 0 and 1 are ints; the schema says float


# ---------------------------------------------------------------------------------------------
# The store


def study(tmp_path, name="s", *overrides):
    cfg = sweep_cfg(
        f"sweep.dir={tmp_path / name}",
        "replicates=100",
        "sweep.chunk_worlds=150",
        "+sweep.grid={tension.inter_korean:[0.2,0.9],flood.severity:[1.0,10.0,40.0]}",
        *overrides,
    )
    return cfg, tmp_path / name


def test_store_layout_manifest_and_load(tmp_path):
    cfg, root = study(tmp_path)
    out = run_study(cfg, root)
    assert out["chunks"] == 6 and out["chunks_run"] == 6  # 150-world chunks hold one 100-world cell
    m = results.Store(root).manifest()
    assert m["status"] == "complete" and m["runs"] == 600 and m["seed"] == 2024
    assert m["provenance"]["git_commit"] and m["provenance"]["packages"]["mesa"] == "3.5.1"
    assert m["design"]["grid"]["flood.severity"] == [1.0, 10.0, 40.0]
    resp = results.load(root)
    runs = results.load(root, "runs")
    assert len(runs) == 600 and len(resp) == 600 * 7
    assert list(runs.columns[:3]) == ["cell", "tension.inter_korean", "flood.severity"]
    assert runs.groupby("cell").size().eq(100).all()
    # plain pandas/pyarrow read the shard folders directly
    pd.testing.assert_frame_equal(pd.read_parquet(root / "runs"), runs)
    cells = results.cells(root)
    assert len(cells) == 6 and set(cells.columns) == {"cell", "tension.inter_korean", "flood.severity"}
    # the same cells, evaluated in memory, give the same rows
    mem_runs, _ = batch.evaluate(cfg, designs.grid_cells(OmegaConf.to_container(cfg.sweep.grid)))
    pd.testing.assert_frame_equal(mem_runs, runs)


def test_shards_keep_statistics_for_the_key_columns_only(tmp_path):
    import pyarrow.parquet as pq

    cfg, root = study(tmp_path)
    run_study(cfg, root)
    keys = {"cell", "tension.inter_korean", "flood.severity", *tables.KEYS}
    for table in results.TABLES:
        meta = pq.ParquetFile(sorted((root / table).glob("*.parquet"))[0]).metadata
        group = meta.row_group(0)
        kept = {meta.schema.column(i).name for i in range(meta.num_columns) if group.column(i).is_stats_set}
        assert kept == keys & {meta.schema.column(i).name for i in range(meta.num_columns)}, table


def test_shards_mark_only_the_missable_columns_and_knobs_nullable(tmp_path):
    import pyarrow.parquet as pq

    cfg, root = study(tmp_path)
    run_study(cfg, root)
    knobs = {"tension.inter_korean", "flood.severity"}
    for table in results.TABLES:
        schema = pq.read_schema(sorted((root / table).glob("*.parquet"))[0])
        nullable = {f.name for f in schema if f.nullable}
        assert nullable == (knobs | set(tables.NULLABLE)) & set(schema.names), table
    # a required column that holds a null is refused, not written as a gap
    bad = pd.DataFrame({"replicate": pd.array([1, None], dtype="Int64")})
    with pytest.raises(ValueError, match="non-nullable"):
        results.write_parquet(tmp_path / "bad.parquet", bad, nullable=())
    assert not (tmp_path / "bad.parquet").exists()


def test_resume_after_interruption_equals_uninterrupted(tmp_path):
    cfg, root = study(tmp_path, "full")
    run_study(cfg, root)
    cfg2, root2 = study(tmp_path, "cut")
    run_study(cfg2, root2)
    st = results.Store(root2)
    # what a kill leaves: two chunks never finished (one with its responses shard already written)
    # and a half-written temporary file
    st.shard("runs", 1).unlink()
    st.shard("runs", 3).unlink()
    st.shard("responses", 3).unlink()
    (root2 / "runs" / ".chunk-000003.parquet.abc.tmp").write_bytes(b"half")
    with pytest.warns(UserWarning, match="incomplete"):
        results.load(root2)
    out = run_study(cfg2, root2)
    assert out["chunks_resumed"] == 4 and out["chunks_run"] == 2
    assert not list((root2 / "runs").glob(".*.tmp"))
    for table in results.TABLES:
        pd.testing.assert_frame_equal(results.load(root2, table), results.load(root, table))
    assert [s["chunks_run"] for s in st.manifest()["sessions"]] == [6, 2]


def test_resume_keeps_the_original_chunk_plan(tmp_path):
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    results.Store(root).shard("runs", 0).unlink()
    out = run_study(study(tmp_path, "s", "sweep.chunk_worlds=1000")[0], root)
    assert out["chunks"] == 6 and out["chunks_run"] == 1


def test_force_redoes_everything(tmp_path):
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    out = run_study(study(tmp_path, "s", "sweep.force=true")[0], root)
    assert out["chunks_resumed"] == 0 and out["chunks_run"] == 6


def test_a_changed_study_is_not_mixed_with_old_results(tmp_path):
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    with pytest.raises(ConfigError, match="another config or design; pass --force"):
        run_study(study(tmp_path, "s", "replicates=200")[0], root)


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match="not a sweep results folder"):
        results.load(tmp_path)
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    with pytest.raises(ConfigError, match="table='cells'"):
        results.load(root, "cells")


@pytest.mark.slow
def test_parent_memory_does_not_grow_with_the_number_of_chunks(tmp_path):
    """Shards go to disk chunk by chunk: the session's peak heap over 36 chunks is about that over
    6 chunks of the same size (keeping the tables would make it ~6x)."""
    import tracemalloc

    def peak(name, replicates):
        cfg, root = study(tmp_path, name, f"replicates={replicates}", "sweep.chunk_worlds=25", "sweep.workers=1")
        tracemalloc.start()
        run_study(cfg, root)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(results.Store(root).done()) == 6 * replicates // 25
        return top

    few, many = peak("few", 25), peak("many", 150)
    assert many < 2 * few, (few, many)


# ---------------------------------------------------------------------------------------------
# Designs


def test_grid_lists_every_combination_first_knob_outermost():
    cells = designs.grid_cells({"a.x": [1, 2], "b.y": [0.1, 0.2, 0.3]})
    assert len(cells) == 6 and cells[0] == {"a.x": 1, "b.y": 0.1} and cells[3] == {"a.x": 2, "b.y": 0.1}


@pytest.mark.parametrize("method, n", [("lhs", 50), ("sobol", 64)])
def test_sampled_designs_cover_their_ranges(method, n):
    cells = designs.sample(method, n, {"t.a": [0.0, 1.0], "f.s": [0.3, 100.0], "d.m": [1, 10]}, seed=4, log=["f.s"], integer=["d.m"]).cells()
    a = np.array([c["t.a"] for c in cells])
    s = np.array([c["f.s"] for c in cells])
    assert len(cells) == n and a.min() >= 0 and a.max() <= 1 and s.min() >= 0.3 and s.max() <= 100
    # stratified: every tenth of each range holds about a tenth of the points
    assert np.bincount((a * 10).astype(int), minlength=10).min() >= n // 10 - 2
    assert np.bincount((np.log(s / 0.3) / np.log(100 / 0.3) * 10).astype(int), minlength=10).min() >= n // 10 - 2
    assert all(isinstance(c["d.m"], int) for c in cells)
    assert designs.sample(method, n, {"t.a": [0.0, 1.0]}, seed=4).cells() == designs.sample(method, n, {"t.a": [0.0, 1.0]}, seed=4).cells()


def test_sampled_study_runs_integer_knobs_validly(tmp_path):
    cfg = sweep_cfg(
        f"sweep.dir={tmp_path / 's'}", "replicates=10", "sweep.sample={method:lhs,n:6,ranges:{dprk.mobilisation_days:[1,20],flood.severity:[1,50]}}"
    )
    run_study(cfg, tmp_path / "s")
    cells = results.cells(tmp_path / "s")
    assert cells["dprk.mobilisation_days"].dtype == np.int64 and len(cells) == 6


@pytest.mark.parametrize("study", presets("experiment"))
def test_every_shipped_study_is_valid(study):
    cfg = sweep_cfg(f"experiment={study}")
    assert cfg.sweep.study == study
    spec = OmegaConf.to_container(cfg.sweep, resolve=True)
    cells = designs.study_cells(spec)
    design = batch.prepare(model_dict(cfg), cells)  # every cell passes the schema
    assert len(design) == len(cells) >= 21
    assert len(design.plan(25_000)) <= len(cells)  # stacked: never more batches than cells


def test_default_study_is_the_issue_grid():
    grid = sweep_cfg("experiment=tension_x_severity").sweep.grid
    tension, severity = list(grid["tension.inter_korean"]), np.array(grid["flood.severity"])
    assert tension == [round(0.1 * i, 1) for i in range(11)]
    assert len(severity) == 11 and {1.0, 10.0, 100.0} <= set(severity) and designs.log_spaced(severity)
    np.testing.assert_allclose(severity, np.logspace(-0.5, 2, 11), rtol=1e-6)  # a quarter-decade apart, through 2024's 1


# ---------------------------------------------------------------------------------------------
# Faults of the store: each is refused in one line or repaired, never mixed or silently dropped


def test_a_second_session_on_the_same_store_is_refused(tmp_path):
    cfg, root = study(tmp_path)
    holder = results.Store(root)
    with holder.lock(), pytest.raises(ConfigError, match=r"in use by another aidsim-sweep \(pid \d+"):
        run_study(cfg, root)
    assert run_study(cfg, root)["chunks_run"] == 6  # released: the next session runs


def test_a_lock_left_by_a_killed_session_is_not_held(tmp_path):
    import subprocess
    import sys

    root = tmp_path / "s"
    code = f"from aidsim.runs.store import Store; import os\nwith Store({str(root)!r}).lock(): os.kill(os.getpid(), 9)"
    subprocess.run([sys.executable, "-c", code], check=False)
    assert (root / ".lock").is_file()
    cfg, _ = study(tmp_path)
    assert run_study(cfg, root)["chunks_run"] == 6


def test_resume_with_other_model_code_is_refused_unless_forced(tmp_path, monkeypatch):
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    results.Store(root).shard("runs", 2).unlink()
    monkeypatch.setattr(results, "model_code_hash", lambda: "0123456789abcdef")
    with pytest.raises(ConfigError, match="model code changed .* pass --force"):
        run_study(cfg, root)
    out = run_study(study(tmp_path, "s", "sweep.force=true")[0], root)
    assert out["chunks_run"] == 6
    assert results.Store(root).manifest()["code"]["model_hash"] == "0123456789abcdef"


@pytest.mark.parametrize("damage", ["truncate", "empty", "flip", "copy"])
def test_damaged_shards_are_refused_on_load_and_redone_on_resume(tmp_path, damage):
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    reference = results.load(root, "runs")
    st = results.Store(root)
    shard = st.shard("runs", 3)
    data = shard.read_bytes()
    if damage == "truncate":
        shard.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        shard.write_bytes(b"")
    elif damage == "flip":
        shard.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    else:
        shutil.copy(st.shard("runs", 0), shard)
    with pytest.warns(UserWarning, match="incomplete .*1 damaged"):
        partial = results.load(root, "runs")
    assert len(partial) == 500  # the damaged chunk is left out, not loaded
    out = run_study(cfg, root)
    assert out["chunks_run"] == 1 and st.manifest()["status"] == "complete"
    pd.testing.assert_frame_equal(results.load(root, "runs"), reference)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda text: text[: len(text) // 2], "not readable JSON"),
        (lambda text: "[]", "expected a JSON object"),
        (lambda text: text.replace('"chunks": 6', '"chunks": "six"'), "chunks='six'"),
        (lambda text: text.replace('"chunks": 6', '"chunks": 4'), "plans 4 chunks but the design makes 6"),
        (lambda text: text.replace('"code": {', '"code": [1], "was": {', 1), "code=\\[1\\] is not a valid dict"),
        (lambda text: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_a_damaged_manifest_is_one_line(tmp_path, edit, message):
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    path = root / "manifest.json"
    path.write_text(edit(path.read_text()))
    with pytest.raises(ConfigError, match=message) as err:
        run_study(cfg, root)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["..", ".", "", "../../etc", "a/b", "x\\y"])
def test_study_names_are_plain(tmp_path, name):
    cfg, _ = study(tmp_path)
    cfg.sweep.study = name
    with pytest.raises(ConfigError, match="sweep.study"):
        run_study(cfg, tmp_path / "s")
    assert not (tmp_path / "s").exists()  # a refused run leaves no folder


def test_force_deletes_only_what_the_store_owns(tmp_path):
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    (root / "notes.txt").write_text("mine")
    (root / "runs" / "my_analysis.csv").write_text("mine")
    (root / "figures").mkdir(exist_ok=True)
    (root / "figures" / "my_talk.png").write_bytes(b"mine")
    (root / "runs" / "chunk-000099.parquet").write_bytes(b"not the store's: its plan has 6 chunks")
    run_study(study(tmp_path, "s", "sweep.force=true")[0], root)
    assert (root / "notes.txt").read_text() == "mine" and (root / "runs" / "my_analysis.csv").is_file()
    assert (root / "figures" / "my_talk.png").is_file() and (root / "runs" / "chunk-000099.parquet").is_file()
    # a folder that is not a store is refused, with or without --force
    other = tmp_path / "home"
    other.mkdir()
    (other / "thesis.tex").write_text("mine")
    for force in ("false", "true"):
        with pytest.raises(ConfigError, match="not a sweep store"):
            run_study(study(tmp_path, "home", f"sweep.force={force}")[0], other)
    assert (other / "thesis.tex").is_file()
    # nor is a folder holding only a config.yaml of the user's: the store's own comes with a manifest
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my: settings\n")
    with pytest.raises(ConfigError, match="not a sweep store"):
        run_study(study(tmp_path, "mine")[0], mine)
    assert (mine / "config.yaml").read_text() == "my: settings\n"


def test_a_hand_edited_chunk_count_is_damage_not_a_smaller_study(tmp_path):
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    path = root / "manifest.json"
    path.write_text(path.read_text().replace('"chunks": 6', '"chunks": 3'))
    with pytest.raises(ConfigError, match="damaged, its chunks hold 300 runs of the design's 600") as err:
        results.load(root)
    assert "\n" not in str(err.value)


def test_a_lost_cells_table_is_made_again_on_the_next_run(tmp_path):
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    want = results.cells(root)
    (root / "cells.parquet").unlink()
    assert run_study(cfg, root)["chunks_run"] == 0  # nothing to rerun
    pd.testing.assert_frame_equal(results.cells(root), want)


@pytest.mark.parametrize(
    "override, message",
    [
        ("sweep.force=no", "sweep.force='no': allowed: true or false"),
        ("sweep.force=maybe", "sweep.force='maybe'"),
        ("sweep.workers=true", "sweep.workers=True"),
        ("sweep.chunk_worlds=0", "sweep.chunk_worlds=0: allowed: a whole number"),
        ("+sweep.grd=1", "sweep.grd: unknown key"),
        ("replicates=true", "replicates=true: allowed: a whole number"),
        ("tension.us_dprk=true", "tension.us_dprk=true: allowed: a number"),
    ],
)
def test_sweep_settings_and_booleans_are_checked(tmp_path, override, message):
    cfg, root = study(tmp_path, "s", override)
    with pytest.raises(ConfigError, match=re.escape(message)):
        run_study(cfg, root)


def test_memory_is_estimated_before_allocating(tmp_path):
    cfg, root = study(tmp_path, "s", "sweep.sample={method:lhs,n:1000000000,ranges:{flood.severity:[1,10]}}")
    with pytest.raises(ConfigError, match=r"cells: needs about .* GB of memory"):
        run_study(cfg, root)


def test_files_get_the_users_umask(tmp_path):
    cfg, root = study(tmp_path)
    run_study(cfg, root)
    import os

    mask = os.umask(0)
    os.umask(mask)
    for path in (root / "manifest.json", results.Store(root).shard("runs", 0)):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask


ORPHAN_SCRIPT = """
import os, sys, time
from aidsim.runs.workers import execute

def nap(i):
    with open(os.path.join(sys.argv[1], f"worker-{os.getpid()}"), "w"):
        pass
    time.sleep(60)
    return i

if __name__ == "__main__":
    for _ in execute(range(2), nap, 2):
        pass
"""


def test_pool_workers_die_with_the_command_that_started_them(tmp_path):
    """kill -9 of the command (not of the fork server, the workers' real parent) ends its workers
    within seconds, instead of leaving them to finish their chunks as orphans."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "pool.py"
    script.write_text(ORPHAN_SCRIPT)
    main = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("worker-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]
    assert len(workers) == 2
    main.send_signal(signal.SIGKILL)
    main.wait()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)


def _parent(_: int) -> int:
    import os

    return os.getppid()


def test_warm_up_starts_the_fork_server_that_the_pool_then_uses():
    """`aidsim-sweep` calls warm_up before reading its config: the pool made later must fork its
    workers from that server, not start another one."""
    from multiprocessing import forkserver

    from aidsim.runs import workers

    if workers.default_workers() < 2:
        pytest.skip("one core: no pool, nothing to warm up")
    workers.warm_up()
    server = forkserver._forkserver._forkserver_pid
    assert server is not None
    assert set(workers.execute(range(4), _parent, 2)) == {server}
    assert forkserver._forkserver._forkserver_pid == server


def test_chunks_too_large_for_memory_are_refused_before_anything_is_written(tmp_path, monkeypatch):
    from aidsim.runs import resources

    monkeypatch.setattr(resources, "available", lambda: 100_000_000)  # 100 MB: 80 MB usable
    cfg, root = study(tmp_path, "s", "sweep.chunk_worlds=100000", "replicates=20000", "sweep.workers=1")
    with pytest.raises(ConfigError, match=r"sweep.chunk_worlds=100,000 x sweep.workers=1: needs about 0.2 GB") as err:
        run_study(cfg, root)
    assert "\n" not in str(err.value) and not (root / "manifest.json").exists()


def test_a_zombie_is_seen_as_gone():
    import subprocess
    import time

    from aidsim.runs.workers import _zombie

    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while not _zombie(child.pid) and time.monotonic() < deadline:  # ended, not yet reaped: what a killed command is to its workers
        time.sleep(0.01)
    assert _zombie(child.pid)
    child.wait()
    assert not _zombie(os.getpid())


def test_a_forced_rerun_too_large_for_memory_deletes_nothing(tmp_path, monkeypatch):
    from aidsim.runs import resources

    cfg, root = study(tmp_path)
    run_study(cfg, root)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    monkeypatch.setattr(resources, "available", lambda: 200_000)  # 0.2 MB: the cells fit, no chunk does
    with pytest.raises(ConfigError, match="sweep.chunk_worlds"):
        run_study(study(tmp_path, "s", "sweep.force=true")[0], root)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before and results.Store(root).manifest()["status"] == "complete"
