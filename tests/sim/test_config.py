"""A simulator config is refused by the field at fault before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.config import SimError, load_run_config, load_sweep_config


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_a_sweep_runs_every_combination_of_its_grid_over_its_base(tmp_path: Path) -> None:
    config = load_sweep_config(written(tmp_path, """
        seeds = 4
        [base]
        rounds = 3
        [grid]
        time_limit = [0.1, 1.0]
        speculator_share = [0.0, 0.3]
    """))
    assert config.cells() == [
        {"time_limit": 0.1, "speculator_share": 0.0}, {"time_limit": 0.1, "speculator_share": 0.3},
        {"time_limit": 1.0, "speculator_share": 0.0}, {"time_limit": 1.0, "speculator_share": 0.3}]
    run = config.run_config(config.cells()[3])
    assert (run.rounds, run.time_limit, run.speculator_share) == (3, 1.0, 0.3)


def test_a_sweep_file_gives_a_run_its_base(tmp_path: Path) -> None:
    path = written(tmp_path, "[base]\nrounds = 7\n[grid]\nsolver_seed = [1, 2]\n")
    assert load_run_config(path).rounds == 7


@pytest.mark.parametrize(("text", "message"), [
    ("[base]\nfoo = 1\n", "base.foo: Extra inputs are not permitted"),
    ("tempo = 1\n", "tempo: Extra inputs are not permitted"),
    ("[grid]\nspeculator_share = [0.2, 1.5]\n",
     "grid.speculator_share: 1.5: Input should be less than or equal to 1"),
    ("[grid]\nfoo = [1]\n", "grid.foo: not a knob of a run"),
    ("[grid]\ntime_limit = []\n", "grid.time_limit: no values"),
    ("seeds = 0\n", "seeds: Input should be greater than or equal to 1"),
    ("[base]\nrounds = 0\n", "base.rounds: Input should be greater than or equal to 1"),
    ("[base]\nspeculator_share = -0.1\n",
     "base.speculator_share: Input should be greater than or equal to 0"),
])
def test_a_bad_sweep_is_refused_naming_its_field(tmp_path: Path, text: str,
                                                 message: str) -> None:
    path = written(tmp_path, text)
    with pytest.raises(SimError) as refused:
        load_sweep_config(path)
    assert str(refused.value).endswith(f", in {path}")
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_config_that_is_no_toml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SimError, match="not TOML"):
        load_sweep_config(written(tmp_path, "seeds = \n"))


def test_a_missing_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SimError, match="No such file"):
        load_run_config(tmp_path / "absent.toml")
