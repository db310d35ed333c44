"""Where the suite writes, relative to the checkout: every output folder named once."""

from pathlib import Path

OUT = Path("report") / "out"
RUNS_DIR = OUT / "runs"          # a plain pytest run's results, one folder per run
HISTORY_DIR = OUT / "history"    # every repro report run kept, per machine
CACHE_DIR = OUT / "cache"        # the slow and gpu tiers' experiment cache
REUSE_DIR = OUT / "reuse"        # each claim module's results, kept for reuse
SWEEP_DIR = OUT / "sweep"        # repro sweep's per-seed results and summary
MERGED_DIR = OUT / "merged"      # repro report --from A B: the merged report
MUTANTS_DIR = OUT / "mutants"    # repro mutants: one folder per run, and latest.json
