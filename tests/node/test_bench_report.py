"""BenchReport.render: the CPU lines that let a reader do the throughput arithmetic."""

from __future__ import annotations

from pathlib import Path

from node.bench import BenchReport, MachineSpeed, cpu_model, machine_speed


def _report(**kw: object) -> BenchReport:
    report = BenchReport(txs=1_000, clients=8, nodes=4, rate=1_000, label="ledger txs")
    report.committed, report.seconds = 1_000, 1.25
    for name, value in kw.items():
        setattr(report, name, value)
    return report


def test_the_budget_adds_every_node_and_the_client_and_divides_the_cores() -> None:
    text = _report(
        node_cpu_s=2.2, exec_cpu_s=1.08, commit_cpu_s=0.2, client_cpu_s=0.13, cores=2
    ).render()
    assert "node CPU    550 us per committed tx per node" in text
    assert "client CPU  130 us per committed tx" in text
    # 4 x 550 + 130 = 2,330 us per tx; 2 cores: 2,000,000 / 2,330 = 858 tx/s at most
    assert (
        "CPU budget  2330 us per committed tx, all nodes and this client: 2 cores allow at most 858 tx/s"
        in text
    )


def test_no_budget_without_the_nodes_cpu_or_the_core_count() -> None:
    assert "CPU budget" not in _report(client_cpu_s=0.13, cores=2).render()
    assert "CPU budget" not in _report(node_cpu_s=2.2, client_cpu_s=0.13, cores=0).render()
    assert "client CPU" not in _report(node_cpu_s=2.2).render()


def test_the_side_by_side_script_reads_what_render_prints() -> None:
    """tests/bench/side_by_side.py parses these lines: a format change must fail here."""
    from tests.bench.side_by_side import parse_bench

    text = _report(node_cpu_s=2.2, exec_cpu_s=1.08, commit_cpu_s=0.2).render()
    # 1,000 txs in 1.25 s; 2.2 s of CPU over 4 nodes and 1,000 txs; execution 1.08 s
    assert parse_bench(text) == (800, 550, 270)


def test_the_machine_line_shows_the_speed_before_and_after_the_run() -> None:
    before, after = MachineSpeed(loop_ns=48.4, verify_us=71.6), MachineSpeed(66.2, 111.1)
    text = _report(machine=before, machine_after=after).render()
    assert (
        "  machine     before the run, 48 ns per Python loop step, 72 us per Ed25519 check; "
        "after it, 66 ns per Python loop step, 111 us per Ed25519 check (best of 3 each: "
        "compare runs at like figures)"
    ) in text.splitlines()
    assert "after it" not in _report(machine=before).render()
    assert "machine" not in _report().render()


def test_the_cpu_line_names_the_processor_model_and_count() -> None:
    text = _report(cpu="Intel(R) Xeon(R) Processor", cores=2).render()
    assert "  cpu         Intel(R) Xeon(R) Processor, 2 CPUs" in text.splitlines()
    assert "cpu " not in _report(cores=2).render()  # model unknown: no line


def test_cpu_model_reads_the_first_model_name(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
        "model name\t: AMD EPYC  7B13 64-Core Processor\nflags\t\t: fpu\n\n"
        "processor\t: 1\nmodel name\t: something else\n"
    )
    assert cpu_model(str(info)) == "AMD EPYC 7B13 64-Core Processor"
    (tmp_path / "bare").write_text("processor\t: 0\nHardware\t: BCM2835\n")
    assert cpu_model(str(tmp_path / "bare")) == ""
    assert cpu_model(str(tmp_path / "missing")) == ""


def test_machine_speed_times_both_references() -> None:
    speed = machine_speed(rounds=1)
    # a loop step takes nanoseconds and a signature check tens of microseconds on any
    # machine this runs on; zero or a swapped unit would mean the timing is broken
    assert 1 < speed.loop_ns < 10_000
    assert 5 < speed.verify_us < 10_000


def test_windows_give_each_full_ten_seconds_and_leave_the_partial_one_out() -> None:
    # 1,200 commits in 0-10 s, 900 in 10-20 s, 50 in the 5 s after: the last window is partial
    offsets = [i / 120 for i in range(1_200)] + [10 + i / 90 for i in range(900)]
    offsets += [20 + i / 10 for i in range(50)]
    report = _report(commit_offsets=offsets, seconds=24.9)
    assert report.windows() == [120.0, 90.0]
    assert (
        "windows     120, 90 committed tx/s in each 10 s of the run (lowest after the first: 90)"
        in report.render()
    )


def test_no_windows_line_for_a_run_shorter_than_two_windows() -> None:
    report = _report(commit_offsets=[0.5, 1.0, 12.0], seconds=12.0)
    assert report.windows() == [0.2]
    assert "windows" not in report.render()


def _overloaded(**kw: object) -> BenchReport:
    """docs/ledger-performance.md's afternoon run in small: 50 s of submitting, 33 s of draining.

    While submitting, 586 commits/s and 1,127 admissions/s; after it, 810 commits/s. The nodes
    spend 2,170 us committing a tx and 500 admitting one: 29,300 x 2,170 + 56,350 x 500 us =
    91.756 s of CPU in the first phase, 26,730 x 2,170 us = 58.004 s in the second.
    """
    offsets = [i / 586 for i in range(29_300)] + [50 + i / 810 for i in range(26_730)]
    report = _report(
        txs=56_350,
        submitted=56_350,
        committed=56_030,
        seconds=83.0,
        commit_offsets=offsets,
        submit_seconds=50.0,
        node_cpu_submit_s=91.756,
        node_cpu_s=91.756 + 58.004,
    )
    for name, value in kw.items():
        setattr(report, name, value)
    return report


def test_the_phases_split_admitting_from_committing() -> None:
    split = _overloaded().phases()
    assert split is not None
    admit, commit = split
    assert round(admit) == 500
    assert round(commit) == 2_170
    assert (
        "phases      586 committed tx/s while submitting, 810 after: all nodes spend ~500 us "
        "admitting a tx and ~2170 us committing it" in _overloaded().render()
    )


def test_no_phases_line_when_the_cluster_kept_up_or_a_figure_is_missing() -> None:
    # the last commit came 2 s after the last submission: no drain to measure
    kept_up = _overloaded(seconds=52.0, commit_offsets=[i / 586 for i in range(29_300)])
    assert kept_up.phases() is None
    assert "phases" not in kept_up.render()
    assert _overloaded(node_cpu_submit_s=-1.0).phases() is None
    assert _overloaded(node_cpu_s=-1.0).phases() is None
    # a first phase that used less CPU than its commits alone would: noise, not a figure
    assert _overloaded(node_cpu_submit_s=29_300 * 2_170e-6 * 0.99).phases() is None


def test_the_committed_line_names_the_heights_to_replay() -> None:
    """``bench_replay.py --from`` takes the first height: the run's blocks, not its set-up's."""
    text = _report(blocks=12, first_height=146, last_height=157).render()
    assert "  committed   1000 in 12 blocks (heights 146-157) over 1.25s" in text.splitlines()
    assert "  committed   1000 in 12 blocks over 1.25s" in _report(blocks=12).render().splitlines()


def test_a_run_that_lost_nodes_says_how_it_rode_through() -> None:
    text = _report(failovers=3, watcher_moves=1, resent=17).render()
    assert (
        "  failover    moves to the next node: 3 by the clients, 1 by the block watcher; "
        "accepted transactions sent again: 17 (a lost node may not have gossiped them)"
    ) in text
    assert "failover" not in _report().render()


def test_restarted_or_silent_nodes_leave_no_cpu_figures_and_say_why() -> None:
    text = _report(restarted=["http://127.0.0.1:1/"], silent=["http://127.0.0.1:3/"]).render()
    assert "  restarted   http://127.0.0.1:1/ during the run: counters begin again" in text
    assert "  silent      http://127.0.0.1:3/ did not answer node_status" in text
    assert "node CPU" not in text and "views" not in text


def test_the_nodes_interpreter_is_named_once_or_per_node_when_they_differ() -> None:
    """Its build moves every CPU figure (docs/operations.md "Which Python build")."""
    debian = "CPython 3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]"
    source = "CPython 3.11.7 (main, May 9 2026, 07:35:25) [GCC 12.2.0]"
    same = _report(node_python=[("http://n0", debian), ("http://n1", debian)]).render()
    assert f"  python      every node runs {debian}\n" in same
    mixed = _report(node_python=[("http://n0", debian), ("http://n1", ""), ("http://n2", source)])
    assert (
        f"the nodes run different interpreters: http://n0 {debian}; http://n2 {source}"
        in mixed.render()
    )
    assert "python" not in _report().render()
    assert "python" not in _report(node_python=[("http://n0", "")]).render()
