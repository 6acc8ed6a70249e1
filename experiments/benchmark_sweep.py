"""Benchmark: aidsim-sweep's engine against mesa.batch_run on the same grid of the same model.

    python experiments/benchmark_sweep.py                # ~1,000,000 aidsim runs, 242 + 2,420 batch_run runs
    python experiments/benchmark_sweep.py --aidsim-replicates 1000 --batch-replicates 5   # quicker

The grid is the tension_x_severity study (11 x 11 cells, default 60-day 2024 model).
(a) aidsim: `study.run_study`, everything aidsim-sweep does except drawing: stacked batches on all
    cores, Parquet shards written to results/benchmark/, manifest. The workers' fork server is
    started first, as aidsim-sweep starts it before reading its config, and (a) waits until it has
    loaded the model, as a sweep's first chunk does (`fork_server_ready`). Peak RSS is the largest of this
    process and its workers (which report their own) in the first round. Runs per CPU-second count
    the workers' CPU time in their chunks (which they report) and this process's.
(b) mesa.batch_run, one world per run: a Mesa model wrapping AidModel(replicates=[i]) with the
    cell's knobs as scalar parameters and a DataCollector reporting each donor's response, as a
    batch_run user would write it. Params are validated once per cell (cached), which favours
    batch_run. Tried with 1 and 2 processes; the faster counts. This measures aidsim's own model run
    one world at a time: it flatters aidsim (37 ms a run, mostly numpy overhead on 1-element arrays).
(c) The reference a Mesa user would write: the same daily rules re-implemented as plain scalar Mesa
    agents (ScalarAidModel below: one world per model, Python floats, the model's own `random`),
    run by mesa.batch_run over the same cells (`--reference-replicates` worlds each), 1 and 2
    processes, the faster counts. Its response shares are checked against aidsim's (pooled over
    the grid; every donor x response share within 4 standard errors) and the check is printed:
    the speed-up is against a model that gives the same answers.
It also measures the arithmetic limit, the vectorised model alone (no tables, no I/O) on one
100,000-world batch, two ways: with every core busy at once (one process per core, summed:
cores that share a machine run slower together than one alone), measured right after each of
`--rounds` runs of (a); and one process's CPU-time rate times the number of cores, before and
after (a), the faster counting. The engine's share of each is printed (medians over rounds), since
on a shared machine wall-clock rates move with the load; so is its share in CPU time (runs per
CPU-second against the all-cores-busy model's), which other load hardly moves. Rates in the last line are runs per
wall-clock second (the engine's: the median round), measured in the same run. The last line is
machine-readable.
"""

from __future__ import annotations

import argparse
import functools
import math
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from aidsim.model.config import compose
from aidsim.model.model import AidModel
from aidsim.model.params import DONORS
from aidsim.runs import batch, designs, study, workers
from aidsim.runs.cells import cell_params, model_dict, stack_knobs

OUT = Path("results/benchmark")


@functools.cache
def _base():
    """The study's config: every side of the benchmark runs the same model settings."""
    return compose(["experiment=tension_x_severity"], config_name="sweep")


def grid() -> list[dict]:
    return designs.grid_cells(dict(_base().sweep.grid))


def peak_rss_mb() -> float:
    """Largest resident set of this process or any finished child, in MB (the engine's workers,
    forked by a fork server, are not its children: `run_study` reports theirs)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_aidsim(replicates: int, workers: int | None) -> tuple[int, float, dict[str, Any]]:
    """(runs, wall seconds, `run_study`'s record: the workers' CPU seconds and peak memory among
    it) of one run of the engine."""
    root = OUT / "tension_x_severity"
    shutil.rmtree(root, ignore_errors=True)
    overrides = ["experiment=tension_x_severity", f"replicates={replicates}", f"sweep.dir={root}", "sweep.progress=false", "sweep.plots=false"]
    if workers:
        overrides.append(f"sweep.workers={workers}")
    cfg = compose(overrides, config_name="sweep")
    start = time.perf_counter()
    out = study.run_study(cfg, root)
    return out["runs"], time.perf_counter() - start, out


def arithmetic_limit(worlds: int = 100_000) -> float:
    """Runs/s of the model's array arithmetic alone on one big batch of the grid, in this process's CPU time."""
    grid_cells = grid()
    design = batch.prepare(model_dict(_base()), grid_cells)
    per = max(1, worlds // len(grid_cells))
    stacked = stack_knobs(design.params[0], design.knobs, per)
    ids = np.tile(np.arange(per), len(grid_cells))
    start = time.process_time()
    AidModel(stacked, replicates=ids, record=False).run()
    return len(ids) / (time.process_time() - start)


def model_alone(processes: int) -> float:
    """Runs/s of the model's arithmetic alone (`arithmetic_limit`) in `processes` new processes at
    once, each after a first, warming run, summed. With one process per core this is the limit with
    every core busy: cores that share caches and memory bandwidth may run slower together than one
    alone. On a shared machine it moves from run to run."""
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import benchmark_sweep as b; b.arithmetic_limit(); print(b.arithmetic_limit())"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    return sum(float(p.communicate()[0].strip().splitlines()[-1]) for p in procs)


@functools.cache
def _cell_params(severity: float, tension: float):
    # Composed once, validated once per cell: what a careful batch_run user would do.
    return cell_params(_base(), {"flood.severity": severity, "tension.inter_korean": tension})


class OneWorld(mesa.Model):
    """What a batch_run user writes: one replicate world per Mesa model, knobs as arguments."""

    def __init__(self, severity: float = 1.0, tension: float = 0.9, replicate: int = 0, rng=None):
        super().__init__(rng=rng)
        self.world = AidModel(_cell_params(severity, tension), replicates=[replicate], record=False)
        reporters = {"any_accepted": _any_accepted}
        reporters |= {d: functools.partial(_response, donor=d) for d in DONORS}
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    def step(self) -> None:
        self.world.step()
        self.running = not self.world.done
        if not self.running:
            self.datacollector.collect(self)


def _any_accepted(model: OneWorld) -> bool:
    return any(d.accept_day[0] >= 0 for d in model.world.donors)


def _response(model: OneWorld, donor: str) -> str:
    from aidsim.model.ladder import Response

    return Response(int(model.world.donor(donor).status[0])).label


def run_batch(replicates: int, processes: int) -> tuple[int, float]:
    rows, seconds = batch_run(OneWorld, replicates, processes)
    return len(rows), seconds


# ---------------------------------------------------------------------------------------------
# (c) The reference a Mesa user would write: the same daily rules as src/aidsim/model/ (ladder.py,
# donors.py, flood.py, agents.py, model.py), re-implemented as plain scalar Mesa agents, one world
# per model, Python floats and `math`, the model's own `random` generator; run by mesa.batch_run.
# Only the parameters come from aidsim (the cell's validated config); no aidsim code runs in a step.

NOT_OFFERED, PENDING, ACCEPTED, DEFERRED, IGNORED, REJECTED = range(6)
LABEL = {NOT_OFFERED: "not_offered", PENDING: "ignored", ACCEPTED: "accepted", DEFERRED: "deferred", IGNORED: "ignored", REJECTED: "rejected"}


def _logit_noise(u: float, scale: float) -> float:
    return scale * math.log(u / (1.0 - u))


def _lognormal(rng, sigma: float) -> float:
    """Mean-one lognormal factor."""
    return math.exp(sigma * rng.gauss(0.0, 1.0) - 0.5 * sigma * sigma)


def _uniform(rng) -> float:
    """A uniform draw strictly inside (0, 1) (logit noise needs both ends open)."""
    u = rng.random()
    while u == 0.0:
        u = rng.random()
    return u


class ScalarDonor(mesa.Agent):
    """One donor in one world: offers or not each day, then delivers accepted aid."""

    def __init__(self, model: ScalarAidModel, donor_id: str):
        super().__init__(model)
        p = model.params
        self.donor_id, self.profile = donor_id, p.actors[donor_id]
        self.status, self.offer_day, self.accept_day = NOT_OFFERED, -1, -1
        self.requested = self.countered = False
        self.fit, self.size, self.delivered, self.today = self.profile.content_fit, 0.0, 0.0, 0.0
        self.attitude = _logit_noise(_uniform(model.random), p.dprk.decision_noise)
        self.appeal = self.attitude - p.dprk.misfit_weight * (1.0 - self.fit)
        offer = self.profile.offer
        self.signal = offer.need_weight * math.log(max(model.visible, 1e-9)) + offer.politics
        self.refresh()

    def refresh(self) -> None:
        """Hostility, conditions and the cost of taking this donor's aid (after tension moves)."""
        m, p, prof = self.model, self.model.params, self.profile
        channel = p.channels[prof.channel]
        self.relation = m.relations[self.donor_id]
        h = prof.base_hostility + channel.hostility
        if prof.tension_link != "none":
            h += prof.tension_weight * m.tension[prof.tension_link]
        self.hostility = min(max(h, 0.0), 1.0)
        conditions = min(max(prof.conditions + channel.conditions, 0.0), 1.0)
        rung = p.actors[channel.via].rung if channel.via else prof.rung
        body = channel.via or self.donor_id
        d = p.dprk
        log_thr = math.log(d.rung_thresholds[rung - 1]) + d.hostility_weight * self.hostility - d.relation_weight * self.relation
        sealed = m.self_reliance or (m.border_closed and not prof.ally)  # allies' goods still came in through a sealed border
        closure = d.closure_cost if sealed else 0.0
        access = closure - (d.presence_discount if p.access.resident.get(body, False) else 0.0)
        self.cost = log_thr + d.monitoring_weight * conditions + access

    def step(self) -> None:
        m, day, prof = self.model, self.model.steps, self.profile
        if self.status == NOT_OFFERED:
            u = m.random.random()
            rule = prof.offer
            p_offer = 0.0
            if day >= rule.lag_days:
                z = self.signal + rule.base + rule.relation_weight * self.relation - rule.tension_weight * self.hostility
                p_offer = 1.0 / (1.0 + math.exp(-z))
            if u < p_offer or (self.requested and u < rule.answers_request):
                self.fit = min(max(prof.content_fit + prof.fit_spread * (2.0 * m.random.random() - 1.0), 0.0), 1.0)
                self.status, self.offer_day = PENDING, day
                self.appeal = self.attitude - m.params.dprk.misfit_weight * (1.0 - self.fit)
                self.size = prof.offer_size * m.visible
        self.today = 0.0
        if self.accept_day >= 0:
            start = self.accept_day + prof.delivery_lag_days
            if start <= day < start + prof.delivery_days:
                self.today = self.size / prof.delivery_days

    def answer(self, status: int) -> None:
        self.status = status
        if status == ACCEPTED:
            self.accept_day = self.model.steps


class ScalarDprk(mesa.Agent):
    """North Korea in one world: answers offers by the ladder, asks for help, relieves need."""

    def __init__(self, model: ScalarAidModel):
        super().__init__(model)
        p = model.params
        self.need0 = p.flood.severity * _lognormal(model.random, p.flood.severity_spread)
        self.capacity = p.dprk.capacity * _lognormal(model.random, p.dprk.capacity_spread)
        self.unmet = self.need0 / p.flood.onset_days
        self.domestic = self.foreign = 0.0
        self.pressure = self.unmet / (self.capacity * p.dprk.planning_days)

    def decline(self, donor: ScalarDonor) -> int:
        d, h = self.model.params.dprk, donor.hostility
        if donor.profile.ally or h < d.courtesy_hostility:
            return DEFERRED
        if h >= d.silence_hostility:
            return IGNORED
        return REJECTED if self.model.random.random() < d.explicit_rejection_prob else IGNORED  # ladder.decline: the ordinary bands apply while sealed too

    def step(self) -> None:
        m, day, d = self.model, self.model.steps, self.model.params.dprk
        p = self.pressure
        need_side = math.log(max(p, 1e-12)) - d.image_weight * d.image_sensitivity / (1.0 + p)
        for donor in m.donor_agents:
            score = need_side + donor.appeal - donor.cost
            yes = score > 0
            if donor.status == PENDING and donor.offer_day <= day - d.response_delay_days:
                if yes:
                    donor.answer(ACCEPTED)
                elif not donor.profile.ally and score + d.counter_request_gain > 0 and donor.hostility < d.silence_hostility and not m.border_closed:
                    donor.countered = True  # it names what it wants instead; the donor meets it, gives part of it, or refuses
                    u, meets = m.random.random(), donor.profile.meets_counter_request
                    if u < meets:
                        donor.answer(ACCEPTED)
                    elif u < meets + donor.profile.haggles_counter_request:  # part of it: taken only if that tips the answer
                        donor.answer(ACCEPTED if score + d.haggle_share * d.counter_request_gain > 0 else REJECTED)
                    else:
                        donor.answer(IGNORED)
                else:
                    donor.answer(self.decline(donor))
            elif donor.status == DEFERRED and yes:
                donor.answer(ACCEPTED)
                donor.requested = True
            elif donor.status == NOT_OFFERED and not donor.requested and yes:
                donor.requested = donor.hostility < d.request_max_hostility and donor.profile.rung <= d.request_max_rung
        arriving = sum(donor.today for donor in m.donor_agents)
        if arriving > 0:
            foreign = min(arriving, self.unmet)
            for donor in m.donor_agents:
                donor.delivered += donor.today * foreign / arriving
            self.unmet -= foreign
            self.foreign += foreign
        domestic = min(self.capacity * min(1.0, day / d.mobilisation_days), self.unmet)
        self.unmet -= domestic
        self.domestic += domestic
        if day < m.params.flood.onset_days:
            self.unmet += self.need0 / m.params.flood.onset_days
        self.pressure = self.unmet / (self.capacity * d.planning_days)


class ScalarAidModel(mesa.Model):
    """One world of the aid model as plain Mesa: the knobs of a tension_x_severity cell as arguments."""

    def __init__(self, severity: float = 1.0, tension: float = 0.9, replicate: int = 0, rng: int | None = None):
        # Its own seed per (cell, replicate): batch_run hands every cell the same `rng` values,
        # which would make the cells' worlds share their draws.
        super().__init__(rng=rng if rng is not None else zlib.crc32(f"{severity}/{tension}/{replicate}".encode()))
        self.params = _cell_params(severity, tension)
        self.tension = dict(self.params.tension)
        self.relations = dict(self.params.relations)
        self.border_closed = self.params.access.border_closed
        self.self_reliance = self.params.access.self_reliance
        self.events: dict[int, list[Any]] = {}
        for e in self.params.events:
            self.events.setdefault(e.day, []).append(e)
        self.dprk = ScalarDprk(self)
        self.visible = self.dprk.need0 * self.params.flood.visibility
        self.donor_agents = [ScalarDonor(self, d) for d in DONORS]
        reporters: dict[str, Any] = {"any_accepted": lambda m: any(x.accept_day >= 0 for x in m.donor_agents)}
        reporters |= {d: functools.partial(_scalar_response, i=i) for i, d in enumerate(DONORS)}
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    def step(self) -> None:
        for event in self.events.get(self.steps, ()):  # scripted events: shift tension and relations, clipped to [0, 1]
            for k, v in event.tension.items():
                self.tension[k] = min(max(self.tension[k] + v, 0.0), 1.0)
            for k, v in event.relations.items():
                self.relations[k] = min(max(self.relations[k] + v, 0.0), 1.0)
            if event.border_closed is not None:
                self.border_closed = event.border_closed
            if event.self_reliance is not None:
                self.self_reliance = event.self_reliance
            for donor in self.donor_agents:
                donor.refresh()
        for donor in self.donor_agents:
            donor.step()
        self.dprk.step()
        self.running = self.steps < self.params.horizon_days
        if not self.running:
            self.datacollector.collect(self)


def _scalar_response(model: ScalarAidModel, i: int) -> str:
    return LABEL[model.donor_agents[i].status]


def run_reference(replicates: int, processes: int) -> tuple[list[dict[str, Any]], float]:
    return batch_run(ScalarAidModel, replicates, processes)


def batch_run(model_cls: type[mesa.Model], replicates: int, processes: int) -> tuple[list[dict[str, Any]], float]:
    """`mesa.batch_run` of `model_cls` over the study's grid: (rows, seconds)."""
    cells = grid()
    params = {
        "severity": sorted({c["flood.severity"] for c in cells}),
        "tension": sorted({c["tension.inter_korean"] for c in cells}),
        "replicate": range(replicates),
    }
    start = time.perf_counter()
    rows = mesa.batch_run(model_cls, params, number_processes=processes, rng=[None], max_steps=1000, display_progress=False)
    return rows, time.perf_counter() - start


RESPONSES = ("accepted", "deferred", "ignored", "rejected", "not_offered")


def check_shares(root: Path, rows: list[dict[str, Any]]) -> tuple[bool, list[str]]:
    """Pooled over the grid (every cell weighs the same in both), each donor's share of each response
    in the reference against aidsim's: |difference| / standard error, passing below 4 (35 shares,
    so about 1 in 500 honest runs fails somewhere by chance)."""
    from aidsim.runs import store

    resp = store.load(root, "responses")
    aid = resp.groupby(["donor", "response"], observed=False).size().unstack(fill_value=0)
    aid = aid.div(aid.sum(axis=1), axis=0)
    n_aid, n_ref = len(resp) // len(DONORS), len(rows)
    lines, worst = [], 0.0
    for d in DONORS:
        parts = []
        for r in RESPONSES:
            p = float(aid.loc[d, r]) if r in aid.columns else 0.0
            q = sum(row[d] == r for row in rows) / n_ref
            se = math.sqrt(p * (1 - p) / n_ref + p * (1 - p) / n_aid) or 1 / n_ref
            z = abs(q - p) / max(se, 1 / n_ref)
            worst = max(worst, z)
            parts.append(f"{r} {100 * p:5.1f}/{100 * q:5.1f}")
        lines.append(f"  {d:<14}" + "  ".join(parts))
    ok = worst < 4
    lines.append(f"  largest |difference| / standard error: {worst:.2f} ({'within' if ok else 'OUTSIDE'} sampling error, limit 4)")
    return ok, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aidsim-replicates", type=int, default=8265, help="worlds per cell for aidsim (8265 x 121 cells ~ 1,000,000 runs)")
    ap.add_argument("--batch-replicates", type=int, default=2, help="worlds per cell for batch_run")
    ap.add_argument("--reference-replicates", type=int, default=20, help="worlds per cell for the scalar Mesa reference (20 x 121 = 2,420 runs)")
    ap.add_argument("--workers", type=int, default=None, help="aidsim workers (default: all cores)")
    ap.add_argument("--rounds", type=int, default=5, help="engine runs, each followed by the all-cores-busy limit; medians are reported")
    args = ap.parse_args()

    cores = args.workers or workers.default_workers()
    workers.warm_up()  # as aidsim-sweep does before reading its config: the pool's fork server loads meanwhile
    limit_before = cores * model_alone(1)
    fork_server_ready()
    # Rounds of (engine, then the model alone on all cores at once): on a shared machine both move
    # from minute to minute, so each engine run is set against the limit measured right after it.
    rounds, rss = [], 0.0
    for i in range(args.rounds):
        cpu0 = cpu_seconds()
        runs_a, secs_a, out = run_aidsim(args.aidsim_replicates, args.workers)
        cpu_a = cpu_seconds() - cpu0 + out["cpu_seconds"]
        if i == 0:  # before model_alone's processes, which would count as children
            rss = max(peak_rss_mb(), out["worker_peak_rss_mb"])
        busy = model_alone(cores)
        rounds.append((runs_a / secs_a, busy, runs_a / cpu_a))
        print(
            f"round {i + 1}: aidsim engine {runs_a:,} runs in {secs_a:.1f} s = {runs_a / secs_a:,.0f} runs/s on {cores} cores, "
            f"{runs_a / cpu_a:,.0f} runs per CPU-second (the workers' and this process's CPU, {cpu_a:.1f} s); "
            f"the model alone with all {cores} cores busy at once (the same batch in {cores} processes, summed): {busy:,.0f} runs/s, "
            f"{busy / cores:,.0f} per CPU-second; the engine reaches {runs_a / secs_a / busy:.0%} of it in wall-clock time, "
            f"{runs_a / cpu_a / (busy / cores):.0%} in CPU time"
        )
    # Measured again on the then idle pool: the first measurement shares the machine with the fork
    # server's imports. The faster of the two is the limit, which can only lower the engine's share.
    limit = max(limit_before, cores * model_alone(1))
    rate_a = statistics.median(r for r, _, _ in rounds)
    busy_share = statistics.median(r / b for r, b, _ in rounds)
    cpu_rate = statistics.median(c for _, _, c in rounds)
    cpu_share = statistics.median(c / (b / cores) for _, b, c in rounds)
    print(f"aidsim engine, median of {len(rounds)} rounds: {rate_a:,.0f} runs/s ({rate_a / cores:,.0f} per core); peak RSS {rss:.0f} MB (first round)")
    print(
        f"share of the arithmetic limit, median over rounds, each against the all-cores-busy limit measured right after it: {busy_share:.0%}; "
        f"against one process's limit x {cores} cores (100,000-world batch, CPU time, the faster of two measurements: {limit:,.0f} runs/s), "
        f"which assumes cores do not slow each other: {rate_a / limit:.0%}"
    )
    print(
        f"runs per CPU-second, median over rounds: engine {cpu_rate:,.0f}, {cpu_share:.0%} of the model alone's with all cores busy "
        "(what the engine spends on anything but the model's arithmetic: tables, Parquet, checksums, the pool; "
        "unlike the wall-clock shares, other load on the machine hardly moves it)"
    )
    rate_b = 0.0
    for processes in (1, 2):
        runs_b, secs_b = run_batch(args.batch_replicates, processes)
        print(f"mesa.batch_run (number_processes={processes}): {runs_b:,} runs in {secs_b:.1f} s = {runs_b / secs_b:,.0f} runs/s")
        rate_b = max(rate_b, runs_b / secs_b)
    rate_r, rows = 0.0, []
    for processes in (1, 2):
        rows, secs_r = run_reference(args.reference_replicates, processes)
        print(f"mesa.batch_run, scalar Mesa reference (number_processes={processes}): {len(rows):,} runs in {secs_r:.1f} s = {len(rows) / secs_r:,.0f} runs/s")
        rate_r = max(rate_r, len(rows) / secs_r)
    ok, lines = check_shares(OUT / "tension_x_severity", rows)
    print("response shares pooled over the grid, aidsim/reference in %:")
    print("\n".join(lines))
    # Wall-clock rates over the arithmetic limits: the engine's workers run under a forkserver, so their
    # CPU time does not reach this process's RUSAGE_CHILDREN (the CPU figures above cover this process only).
    print(
        f"aidsim against the scalar Mesa reference: {rate_a / rate_r:.0f}x (floor 50x: {_verdict(rate_a / rate_r, 50)}); "
        f"share of the arithmetic limit with all cores busy {busy_share:.0%} in wall-clock time (floor 70%: {_verdict(busy_share, 0.7)}), "
        f"{cpu_share:.0%} in CPU time (floor 70%: {_verdict(cpu_share, 0.7)}), "
        f"of one process's limit x cores {rate_a / limit:.0%} (floor 70%: {_verdict(rate_a / limit, 0.7)}); "
        f"all rates from this run, on a machine {'shared' if _loaded(cores) else 'otherwise idle'} (load average {_load():.1f} on {cores} cores)"
    )
    print(
        f"aidsim_runs_per_s={rate_a:.0f} batch_run_runs_per_s={rate_b:.0f} speedup={rate_a / rate_b:.1f} peak_rss_mb={rss:.0f} "
        f"mesa_reference_runs_per_s={rate_r:.0f} reference_speedup={rate_a / rate_r:.1f}"
    )


def fork_server_ready() -> None:
    """Wait until the workers' fork server has loaded the model (a worker forked from it answers).
    aidsim-sweep reaches its first chunk later than that (its own imports and Hydra's config take
    longer than the server's load), so (a) starts, as a sweep does, with the server ready."""
    import multiprocessing

    if workers.default_workers() > 1 and workers.START_METHOD in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context(workers.START_METHOD).Pool(1) as pool:
            pool.apply(int)


def _verdict(value: float, floor: float) -> str:
    return "met" if value >= floor else "NOT met"


def _load() -> float:
    import os

    return os.getloadavg()[0]


def _loaded(cores: int) -> bool:
    return _load() > 0.5 * cores


if __name__ == "__main__":
    main()
