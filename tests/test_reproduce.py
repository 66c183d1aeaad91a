"""The verdict rule of REPRODUCTION.md (benchmarks/reproduce.py) on hand-made run rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("reproduce", ROOT / "benchmarks" / "reproduce.py")
reproduce = importlib.util.module_from_spec(_spec)
sys.modules["reproduce"] = reproduce  # dataclasses look their module up there
_spec.loader.exec_module(reproduce)

SEEDS = range(5)


def test_sign_test_exact_p_values_for_five_seeds():
    # P(X >= k), X ~ Binomial(5, 1/2): (1, 5, 10, 10, 5, 1) / 32 summed from k up.
    expected = {5: 1 / 32, 4: 6 / 32, 3: 16 / 32, 2: 26 / 32, 1: 31 / 32, 0: 1.0}
    for wins, p in expected.items():
        assert abs(reproduce.sign_test_p(wins, 5) - p) < 1e-12
    assert abs(reproduce.sign_test_p(4, 4) - 1 / 16) < 1e-12


def test_reproduced_five_of_five():
    b = {s: 1.0 * (1 + 0.05 * s) for s in SEEDS}
    a = {s: 0.2 * (1 + 0.05 * ((s + 2) % 5)) for s in SEEDS}
    v = reproduce.judge(a, b)
    assert v.verdict == "reproduced"
    assert (v.wins_a, v.wins_b) == (5, 0)
    assert abs(v.p_sign - 1 / 32) < 1e-12
    assert abs(v.p_wilcoxon - 1 / 32) < 1e-12  # all five ranks on one side
    assert abs(v.p_sign_b - 1.0) < 1e-12
    assert abs(v.median_a - 0.2 * 1.1) < 1e-12 and abs(v.median_b - 1.1) < 1e-12
    logs = np.log(np.array([[a[s], b[s]] for s in SEEDS]))
    pooled = np.sqrt(((logs - logs.mean(axis=0)) ** 2).sum() / 8)
    assert abs(v.spread - pooled) < 1e-12
    d = logs[:, 1] - logs[:, 0]
    assert abs(v.effect - np.median(d)) < 1e-12


def test_not_reproduced_when_b_wins_by_the_same_rule():
    a = {s: 1.0 + 0.01 * s for s in SEEDS}
    b = {s: 0.5 + 0.01 * s for s in SEEDS}
    b[3] = 2.0  # one seed the other way: 4 of 5 still
    v = reproduce.judge(a, b)
    assert v.verdict == "not reproduced"
    assert v.wins_b == 4 and abs(v.p_sign_b - 6 / 32) < 1e-12
    assert v.reason.startswith("the other way: 4 of 5 seeds")


def test_inconclusive_three_of_five():
    a = {0: 0.5, 1: 0.5, 2: 0.5, 3: 2.0, 4: 2.0}
    b = dict.fromkeys(SEEDS, 1.0)
    v = reproduce.judge(a, b)
    assert v.verdict == "inconclusive" and (v.wins_a, v.wins_b) == (3, 2)
    assert v.reason.startswith("A better in 3 of 5 seeds (needs 4), effect ")
    assert abs(v.p_sign - 16 / 32) < 1e-12


def test_inconclusive_effect_below_spread():
    # A better in every seed by 4%, but the seeds spread by a factor ~2: the reason is measured.
    b = {s: 2.0 ** s for s in SEEDS}
    a = {s: 0.96 * b[s] for s in SEEDS}
    v = reproduce.judge(a, b)
    assert v.verdict == "inconclusive" and v.wins_a == 5
    assert abs(v.effect - np.log(1 / 0.96)) < 1e-12
    assert f"effect {v.effect:.3g} below spread {v.spread:.3g}" == v.reason  # 5 of 5: no count
    assert v.spread > 1.0


def test_inconclusive_names_the_other_majority():
    # B better in 4 of 5 by a hair, A far better in the fifth: neither way passes the spread.
    b = {0: 1.0, 1: 0.2, 2: 1.0, 3: 1.0, 4: 0.2}
    a = {0: 1.02, 1: 1.01, 2: 1.01, 3: 1.02, 4: 0.09}
    v = reproduce.judge(a, b)
    assert v.verdict == "inconclusive" and (v.wins_a, v.wins_b) == (1, 4)
    assert v.reason.startswith("A better in 1 of 5 seeds (needs 4), B better in 4 of 5, effect")
    assert abs(v.effect + np.log(1.02)) < 1e-12 and abs(v.p_sign_b - 6 / 32) < 1e-12


def test_higher_is_better_metric_flips_direction():
    a = {s: 100.0 + s for s in SEEDS}
    b = {s: 10.0 + s for s in SEEDS}
    assert reproduce.judge(a, b, "steps_per_s").verdict == "reproduced"
    assert reproduce.judge(a, b, "rel_l2").verdict == "not reproduced"


def test_fewer_than_five_seeds_refused():
    a = {s: 0.1 for s in range(4)}
    b = {s: 1.0 for s in range(5)}
    with pytest.raises(reproduce.ClaimError, match=r"4 seeds run by both.*unpaired: 4.*needs 5"):
        reproduce.judge(a, b)


# ---- rows of a results folder --------------------------------------------------------------
CLAIM = reproduce.Claim("blk", "Paper", "A beats B", "p", "a", "b", "suite.toml", "prof",
                        "results/x", 100)


def _rows(steps=None, commits=None, lr_b=None) -> pd.DataFrame:
    rows = []
    for m, base in (("a", 0.1), ("b", 1.0)):
        for s in SEEDS:
            lr = lr_b[s] if (m == "b" and lr_b) else 1e-3
            rows.append({"run_id": f"{m}{s}", "suite": "x", "problem": "p", "method": m,
                         "seed": s, "status": "ok", "rel_l2": base * (1 + 0.01 * s),
                         "budget.steps": (steps or {}).get((m, s), 100),
                         "git_commit": (commits or {}).get((m, s), "c0ffee"),
                         "optimizer.lr": lr, "spec_json": None})
    return pd.DataFrame(rows)


def test_claim_rows_judged_and_rendered():
    v, rows = reproduce.evaluate(CLAIM, _rows(), expected={f"{m}{s}" for m in "ab"
                                                           for s in SEEDS})
    assert v.verdict == "reproduced" and v.seeds == (0, 1, 2, 3, 4)
    text = reproduce.block_markdown([(CLAIM, v, rows)])
    assert "| 5/5 |" in text and "| 0.0312 / 1 |" in text and "**reproduced**" in text
    assert "commit `c0ffee`" in text and "--profile prof" in text


def test_mixed_budgets_refused():
    with pytest.raises(reproduce.ClaimError, match=r"mix budgets \(100, 200\)"):
        reproduce.evaluate(CLAIM, _rows(steps={("b", 2): 200}))


def test_wrong_budget_refused():
    rows = _rows(steps={(m, s): 50 for m in "ab" for s in SEEDS})
    with pytest.raises(reproduce.ClaimError, match="budget.steps = 50, the claim is at 100"):
        reproduce.evaluate(CLAIM, rows)


def test_mixed_commits_refused():
    with pytest.raises(reproduce.ClaimError, match=r"mix commits \(c0ffee, deadbeef\)"):
        reproduce.evaluate(CLAIM, _rows(commits={("a", 4): "deadbeef"}))


def test_mixed_settings_in_one_cell_refused():
    lr = {s: 1e-3 if s < 3 else 1e-2 for s in SEEDS}
    with pytest.raises(reproduce.ClaimError, match="p/b holds runs of 2 settings"):
        reproduce.evaluate(CLAIM, _rows(lr_b=lr))


def test_failed_seed_leaves_too_few_and_says_so():
    rows = _rows()
    rows.loc[(rows.method == "a") & (rows.seed == 1), "status"] = "diverged"
    with pytest.raises(reproduce.ClaimError, match=r"4 seeds run by both.*1 runs not ok: diverged"):
        reproduce.evaluate(CLAIM, rows)


def test_runs_not_of_the_committed_suite_refused():
    with pytest.raises(reproduce.ClaimError, match="2 runs are not runs of suite.toml"):
        reproduce.evaluate(CLAIM, _rows(), expected={f"{m}{s}" for m in "ab" for s in (0, 1, 2, 3)})


def test_blocks_replaced_between_markers_only():
    doc = ("intro\n<!-- reproduce:blk begin (generated) -->\nold\n<!-- reproduce:blk end -->\n"
           "tail\n")
    assert reproduce.replace_blocks(doc, {"blk": "new"}) == doc.replace("\nold\n", "\nnew\n")
    with pytest.raises(reproduce.ClaimError, match="no block"):
        reproduce.replace_blocks(doc, {"other": "x"})


def test_claims_name_committed_suites_and_profiles():
    # Every declared claim's suite and profile expand to runs of both its methods.
    for claim in reproduce.CLAIMS:
        ids = reproduce.suite_run_ids(claim)
        assert len(ids) == 2 * 5, claim


def test_absent_results_leave_the_block_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce, "ROOT", tmp_path)
    assert reproduce.render((CLAIM,), check_suite=False) == {}
    (tmp_path / "results" / "x").mkdir(parents=True)  # present but empty: refused, shown
    blocks = reproduce.render((CLAIM,), check_suite=False)
    assert "not judged: Paper p: a vs b: no runs in results/x" in blocks["blk"]


def test_the_document_is_what_the_committed_runs_give(tmp_path):
    # The rows behind REPRODUCTION.md's tables are committed: every block renders from them
    # (no refusal), the document matches, and a changed figure in it is caught.
    blocks = reproduce.render()
    assert blocks and all("not judged" not in body for body in blocks.values()), blocks
    doc = ROOT / "REPRODUCTION.md"
    assert reproduce.main(["--check", str(doc)]) == 0
    text = doc.read_text()
    body = next(iter(blocks.values()))
    first_figure = next(w for w in body.split() if w[:1].isdigit() and "." in w)
    drifted = tmp_path / "drifted.md"
    drifted.write_text(text.replace(body, body.replace(first_figure, first_figure + "9", 1)))
    assert drifted.read_text() != text
    assert reproduce.main(["--check", str(drifted)]) == 1
