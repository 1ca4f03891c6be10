"""`make bench`: what a growing shop will hit, measured as figures and ratios in one run
(see README, Benchmarks)."""
