"""Comparison tables: ratios to a reference method, grouping by a spec column, text formats."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

from pinnbench.analysis.compare import comparison_table, format_table, mixed_cells, render_table


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


@pytest.fixture
def single(runs) -> pd.DataFrame:
    """The runs without the second Adam learning rate: every label one configuration."""
    return runs[runs["optimizer.lr"] != 1e-2].reset_index(drop=True)


def test_a_label_covering_two_configurations_is_split(runs):
    t = comparison_table(runs)
    # heat_1d/adam holds runs of two learning rates: two cells, named by what differs, never
    # one cell of 6 seeds with a median across both settings.
    assert t["method"].tolist() == ["adam [optimizer.lr=0.001]", "adam [optimizer.lr=0.01]",
                                    "lbfgs", "adam", "lbfgs"]
    assert t["ok"].tolist() == ["3/3", "3/3", "2/3", "3/3", "3/3"]
    assert t["median"].tolist() == pytest.approx([0.3, 0.03, 0.015, 2.0, 0.5])
    assert t["is_best"].tolist() == [False, False, True, False, True]
    assert mixed_cells(runs) == ["heat_1d/adam holds runs of 2 settings: optimizer.lr=0.001; "
                                 "optimizer.lr=0.01"]
    assert mixed_cells(runs, by=["method", "optimizer.lr"]) == []


def test_default_table_is_unchanged(single):
    t = comparison_table(single)
    assert t["method"].tolist() == ["adam", "lbfgs", "adam", "lbfgs"]
    assert t["ok"].tolist() == ["3/3", "2/3", "3/3", "3/3"]
    assert t["failed"].tolist() == ["", "1 diverged", "", ""]
    assert t["median"].tolist() == pytest.approx([0.3, 0.015, 2.0, 0.5])
    # Mean and sample standard deviation beside median and quartiles, best and worst.
    assert t["mean"].tolist() == pytest.approx([0.3, 0.015, 2.0, 0.5])
    assert t["std"].tolist() == pytest.approx([0.1, 0.01 / 2 ** 0.5, 1.0, 0.0])
    assert t[["q25", "q75"]].iloc[0].tolist() == pytest.approx([0.25, 0.35])
    assert t["best"].tolist() == pytest.approx([0.2, 0.01, 1.0, 0.5])
    assert t["worst"].tolist() == pytest.approx([0.4, 0.02, 3.0, 0.5])
    assert t["is_best"].tolist() == [False, True, False, True]
    assert "vs_baseline" not in t


def test_ratios_to_a_reference_method(single):
    t = comparison_table(single, baseline="lbfgs")
    assert t["vs_baseline"].tolist() == pytest.approx([0.3 / 0.015, 1.0, 4.0, 1.0])
    with pytest.raises(KeyError, match="sgd"):
        comparison_table(single, baseline="sgd")


def test_grouping_by_a_spec_column(runs):
    t = comparison_table(runs, by=["method", "optimizer.lr"])
    assert t["method"].tolist() == ["adam/0.001", "adam/0.01", "lbfgs/1.0", "adam/0.001",
                                    "lbfgs/1.0"]
    assert t["median"].tolist() == pytest.approx([0.3, 0.03, 0.015, 2.0, 0.5])
    t = comparison_table(runs, by=["method", "optimizer.lr"], baseline="adam/0.001")
    assert t["vs_baseline"].tolist() == pytest.approx([1.0, 0.1, 0.05, 1.0, 0.25])
    with pytest.raises(KeyError, match="model.width"):
        comparison_table(runs, by=["model.width"])


HEADER = ["problem", "method", "ok", "mean ± std rel_l2", "median rel_l2", "[Q1, Q3]",
          "95% CI of median", "best", "worst", "÷ adam", "95% CI of ratio", "train s",
          "steps/s", "peak MB", "failed"]


def test_markdown(single):
    text = format_table(comparison_table(single, baseline="adam"), "rel_l2", "md",
                        baseline="adam")
    lines = text.splitlines()
    assert lines[0] == "| " + " | ".join(HEADER) + " |"
    assert lines[1] == "|---|---|" + "--:|" * 12 + "---|"
    assert lines[3] == ("| heat_1d | lbfgs | 2/3 | 1.50e-02 ± 7.07e-03 | **1.500e-02** "
                        "| [1.25e-02, 1.75e-02] | [1.00e-02, 2.00e-02] | 1.00e-02 | 2.00e-02 "
                        "| 0.05 | [0.02, 0.10] | 10.0 | 100.0 | 500 | 1 diverged |")
    assert len(lines) == 6


def test_every_format_has_the_same_columns(single):
    table = comparison_table(single, baseline="adam")
    md = format_table(table, "rel_l2", "md", baseline="adam").splitlines()[0]
    html_text = format_table(table, "rel_l2", "html", baseline="adam")
    latex = format_table(table, "rel_l2", "latex", baseline="adam").splitlines()[2]
    terminal = [c.header for c in render_table(table, "rel_l2", baseline="adam").columns]
    assert terminal == HEADER
    assert md.strip("| ").split(" | ") == HEADER
    assert re.findall(r"<th>([^<]*)</th>", html_text) == [h.replace("&", "&amp;")
                                                          for h in HEADER]
    assert len(latex.split(" & ")) == len(HEADER)
    csv = pd.read_csv(io.StringIO(format_table(table, "rel_l2", "csv", baseline="adam")))
    # CSV names the same statistics by their column names, unrounded.
    for col in ("ok", "mean", "std", "median", "q25", "q75", "median_low", "median_high",
                "best", "worst", "vs_baseline", "vs_low", "vs_high", "train_s", "steps_per_s",
                "peak_mb", "failed"):
        assert col in csv.columns


def test_latex_booktabs(single):
    text = format_table(comparison_table(single), "rel_l2", "latex")
    lines = text.splitlines()
    assert lines[0] == r"\begin{tabular}{llrrrrrrrrrrl}"
    assert lines[1:4] == [r"\toprule",
                          r"problem & method & ok & mean $\pm$ std rel\_l2 & median rel\_l2 & "
                          r"[Q1, Q3] & 95\% CI of median & best & worst & train s & steps/s & "
                          r"peak MB & failed \\",
                          r"\midrule"]
    assert lines[4].startswith(r"heat\_1d & adam & 3/3 & $3.00 \times 10^{-1}$ $\pm$ "
                               r"$1.00 \times 10^{-1}$ & $3.000 \times 10^{-1}$ & ")
    assert lines[5].startswith(r" & lbfgs & 2/3 & $1.50 \times 10^{-2}$ $\pm$ "
                               r"$7.07 \times 10^{-3}$ & {\boldmath $1.500 \times 10^{-2}$} & ")
    assert lines[5].endswith(r"& $10.0$ & $100.0$ & $500$ & 1 diverged \\")
    assert lines[6] == r"\midrule"
    assert lines[-2:] == [r"\bottomrule", r"\end{tabular}"]
    assert text.isascii()


def test_csv_holds_unrounded_numbers(single):
    text = format_table(comparison_table(single, baseline="lbfgs"), "rel_l2", "csv",
                        baseline="lbfgs")
    back = pd.read_csv(io.StringIO(text))
    assert back.columns[:5].tolist() == ["problem", "method", "ok", "failed", "median"]
    assert back["median"].tolist() == pytest.approx([0.3, 0.015, 2.0, 0.5])
    assert back["vs_baseline"].tolist() == pytest.approx([0.3 / 0.015, 1.0, 4.0, 1.0])
    assert back["is_best"].tolist() == [False, True, False, True]


def test_html(single):
    text = format_table(comparison_table(single), "rel_l2", "html")
    assert text.startswith('<table class="pinnbench-compare">')
    assert text.count("<tr>") == 5
    assert text.count("<strong>") == 2
    assert "<td>heat_1d</td><td>lbfgs</td><td>2/3</td><td>1.50e-02 ± 7.07e-03</td>" \
           "<td><strong>1.500e-02</strong>" in text
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        format_table(comparison_table(single), "rel_l2", "pdf")


def test_terminal_table_with_ratio_column(single):
    table = render_table(comparison_table(single, baseline="adam"), "rel_l2", baseline="adam")
    assert [c.header for c in table.columns][:5] == ["problem", "method", "ok",
                                                     "mean ± std rel_l2", "median rel_l2"]
    assert "÷ adam" in [c.header for c in table.columns]
    assert table.row_count == 4


def test_without_a_spec_the_setting_columns_decide_and_results_do_not(single):
    # Final loss terms ("loss.pde") differ from seed to seed: they are results, not settings.
    t = comparison_table(single.assign(**{"loss.pde": np.arange(len(single)) * 0.1,
                                          "loss.type": "plain"}))
    assert t["method"].tolist() == ["adam", "lbfgs", "adam", "lbfgs"]
    mixed = single.assign(**{"budget.steps": [100] * 2 + [200] * (len(single) - 2)})
    assert comparison_table(mixed)["method"].tolist()[:2] == ["adam [budget.steps=100]",
                                                              "adam [budget.steps=200]"]


def test_narrow_terminal_prints_every_column_of_a_cell_without_splitting_words(single):
    from rich.console import Console

    table = render_table(comparison_table(single, baseline="adam"), "rel_l2", baseline="adam")
    narrow = Console(width=80, record=True, file=io.StringIO())
    narrow.print(table)
    text = narrow.export_text()
    assert "┃" not in text  # not the table
    joined = " ".join(text.split())
    assert ("heat_1d / lbfgs: ok 2/3; mean ± std rel_l2 1.50e-02 ± 7.07e-03; median rel_l2 "
            "1.500e-02; [Q1, Q3] [1.25e-02, 1.75e-02]") in joined
    assert "; failed 1 diverged" in joined
    for header in HEADER[2:]:
        assert header in joined
    wide = Console(width=250, record=True, file=io.StringIO())
    wide.print(table)
    assert "┃ problem" in wide.export_text()


def test_the_format_option_offers_every_format_and_the_rank_tables_refuse_csv(tmp_path):
    from typer.testing import CliRunner

    from pinnbench.analysis.compare import FORMATS
    from pinnbench.cli import app

    r = CliRunner().invoke(app, ["compare", "--help"])
    assert f"--format {'|'.join(FORMATS)}" in r.output
    r = CliRunner().invoke(app, ["compare", str(tmp_path), "--format", "csv", "--ranks"])
    assert r.exit_code == 2
    assert " ".join(r.output.split()) == ("error: --ranks: the rank tables have no CSV form; "
                                          "use md, latex or html")
