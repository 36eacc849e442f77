"""figures: the experiment pipelines (Figure 1 of the TeSSL paper, the H-SSL table, the equivariance
table), drawn from saved results."""
