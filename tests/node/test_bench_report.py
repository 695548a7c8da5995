"""BenchReport.render: the CPU lines that let a reader do the throughput arithmetic."""

from __future__ import annotations

from node.bench import BenchReport, MachineSpeed, machine_speed


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
