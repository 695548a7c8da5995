"""``aidchain sim``: the summary, the exit codes, every failing seed named, bad arguments refused."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from cli import sim as sim_cli
from cli.main import main as cli_main


def test_cli_summary_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["sim", "--seeds", "3", "--faults", "clean,lossy"]) == 0
    out = capsys.readouterr().out
    assert "seeds run: 3" in out and "failures: 0" in out and "seeds/second" in out
    assert cli_main(["sim", "--seed", "5", "--faults", "crash", "--trace"]) == 0
    out = capsys.readouterr().out
    assert "COMMIT" in out and "seed 5 [crash, n=4] ok" in out


def test_cli_names_every_failing_seed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = sim_cli.run_seed

    def flaky(seed: int, nodes: int, mixes: tuple[str, ...], trace: Any = None) -> Any:
        result = real(seed, nodes, mixes)
        if seed in (11, 13):
            return replace(result, ok=False, failure="SAFETY: injected")
        return result

    monkeypatch.setattr(sim_cli, "run_seed", flaky)
    assert cli_main(["sim", "--seeds", "5", "--first-seed", "10", "--faults", "clean"]) == 1
    out = capsys.readouterr().out
    assert "failing seeds: 11 13" in out and "failures: 2" in out


@pytest.mark.parametrize(
    "argv", [["sim", "--nodes", "5"], ["sim", "--faults", "bogus"], ["sim", "--seeds", "0"]]
)
def test_cli_rejects_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as err:
        cli_main(argv)
    assert err.value.code == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sim", "--jobs", "0"], "--jobs must be in"),
        (["sim", "--trace"], "--trace needs --seed"),
    ],
)
def test_cli_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(argv) == 2
    assert message in capsys.readouterr().err
