"""Comparison tables: ratios to a reference method, grouping by a spec column, text formats."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from pinnbench.compare import comparison_table, format_table, render_table


@pytest.fixture
def runs() -> pd.DataFrame:
    rows = []
    for problem, method, lr, errors in (("heat_1d", "adam", 1e-3, [0.4, 0.2, 0.3]),
                                        ("heat_1d", "adam", 1e-2, [0.05, 0.02, 0.03]),
                                        ("heat_1d", "lbfgs", 1.0, [0.01, 0.02, np.nan]),
                                        ("wave", "adam", 1e-3, [1.0, 2.0, 3.0]),
                                        ("wave", "lbfgs", 1.0, [0.5, 0.5, 0.5])):
        for seed, e in enumerate(errors):
            rows.append({"problem": problem, "method": method, "optimizer.lr": lr, "seed": seed,
                         "status": "ok" if np.isfinite(e) else "diverged", "rel_l2": e,
                         "train_s": 10.0, "steps_per_s": 100.0, "peak_host_rss_mb": 500.0})
    return pd.DataFrame(rows)


def test_default_table_is_unchanged(runs):
    t = comparison_table(runs)
    assert t["method"].tolist() == ["adam", "lbfgs", "adam", "lbfgs"]
    assert t["ok"].tolist() == ["6/6", "2/3", "3/3", "3/3"]
    assert t["failed"].tolist() == ["", "1 diverged", "", ""]
    assert t["median"].tolist() == pytest.approx([0.125, 0.015, 2.0, 0.5])
    assert t["is_best"].tolist() == [False, True, False, True]
    assert "vs_baseline" not in t


def test_ratios_to_a_reference_method(runs):
    t = comparison_table(runs, baseline="lbfgs")
    assert t["vs_baseline"].tolist() == pytest.approx([0.125 / 0.015, 1.0, 4.0, 1.0])
    with pytest.raises(KeyError, match="sgd"):
        comparison_table(runs, baseline="sgd")


def test_grouping_by_a_spec_column(runs):
    t = comparison_table(runs, by=["method", "optimizer.lr"])
    assert t["method"].tolist() == ["adam/0.001", "adam/0.01", "lbfgs/1.0", "adam/0.001",
                                    "lbfgs/1.0"]
    assert t["median"].tolist() == pytest.approx([0.3, 0.03, 0.015, 2.0, 0.5])
    t = comparison_table(runs, by=["method", "optimizer.lr"], baseline="adam/0.001")
    assert t["vs_baseline"].tolist() == pytest.approx([1.0, 0.1, 0.05, 1.0, 0.25])
    with pytest.raises(KeyError, match="model.width"):
        comparison_table(runs, by=["model.width"])


def test_markdown(runs):
    text = format_table(comparison_table(runs, baseline="adam"), "rel_l2", "md", baseline="adam")
    lines = text.splitlines()
    assert lines[0] == ("| problem | method | ok | median rel_l2 | IQR | ÷ adam | train s "
                        "| failed |")
    assert lines[1] == "|---|---|--:|--:|--:|--:|--:|---|"
    assert lines[3] == ("| heat_1d | lbfgs | 2/3 | **1.500e-02** | 5.0e-03 | 0.12 | 10.0 "
                        "| 1 diverged |")
    assert len(lines) == 6


def test_latex_booktabs(runs):
    text = format_table(comparison_table(runs), "rel_l2", "latex")
    lines = text.splitlines()
    assert lines[0] == r"\begin{tabular}{llrrrrl}"
    assert lines[1:4] == [r"\toprule",
                          r"problem & method & ok & median rel\_l2 & IQR & train s & failed \\",
                          r"\midrule"]
    assert lines[4] == r"heat\_1d & adam & 6/6 & 1.250e-01 & 2.4e-01 & 10.0 &  \\"
    assert lines[5] == r" & lbfgs & 2/3 & \textbf{1.500e-02} & 5.0e-03 & 10.0 & 1 diverged \\"
    assert lines[6] == r"\midrule"
    assert lines[-2:] == [r"\bottomrule", r"\end{tabular}"]


def test_csv_holds_unrounded_numbers(runs):
    text = format_table(comparison_table(runs, baseline="lbfgs"), "rel_l2", "csv",
                        baseline="lbfgs")
    back = pd.read_csv(io.StringIO(text))
    assert back.columns[:5].tolist() == ["problem", "method", "ok", "failed", "median"]
    assert back["median"].tolist() == pytest.approx([0.125, 0.015, 2.0, 0.5])
    assert back["vs_baseline"].tolist() == pytest.approx([0.125 / 0.015, 1.0, 4.0, 1.0])
    assert back["is_best"].tolist() == [False, True, False, True]


def test_html(runs):
    text = format_table(comparison_table(runs), "rel_l2", "html")
    assert text.startswith('<table class="pinnbench-compare">')
    assert text.count("<tr>") == 5
    assert text.count("<strong>") == 2
    assert "<td>heat_1d</td><td>lbfgs</td><td>2/3</td><td><strong>1.500e-02</strong>" in text
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        format_table(comparison_table(runs), "rel_l2", "pdf")


def test_terminal_table_with_ratio_column(runs):
    table = render_table(comparison_table(runs, baseline="adam"), "rel_l2", baseline="adam")
    assert [c.header for c in table.columns][:5] == ["problem", "method", "ok", "rel_l2",
                                                     "÷ adam"]
    assert table.row_count == 4
