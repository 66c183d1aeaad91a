"""Reading recorded runs: statistics, ranks, the regression gate, figures, reports, merging
and export."""
