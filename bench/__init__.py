"""crmkit's benchmarks: our speed as ratios against the stack's own limit, in one run.

Run ``python -m bench`` (or ``make bench``); see bench/README.md.
"""
