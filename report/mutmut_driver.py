"""The two steps of ``repro mutants`` that need mutmut's own functions, run in a child process
(``python -m optclaims_report.mutmut_driver STEP``, from the project root) so that importing
mutmut, which sets the process's multiprocessing start method, never touches ``repro`` itself.

    prepare --jobs N      generate the mutants under mutants/ and collect mutmut's stats (which
                          test calls which function), or bring kept stats up to date
    diffs NAME...         print {name: unified diff} as JSON, for the survivors' listing

Pinned to mutmut 3.8.1 (``pip install -e .[mutation]``): these are the functions its ``run``
command calls before it runs any mutant, in the same order.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def prepare(jobs: int) -> None:
    import mutmut.__main__ as mm

    Path("mutants").mkdir(exist_ok=True)
    mm.copy_src_dir()
    mm.copy_also_copy_files()
    mm.setup_source_paths()
    mm.store_lines_covered_by_tests()
    generated = mm.create_mutants(jobs)
    print(f"mutmut: {generated.mutated} files mutated, {generated.unmodified} unchanged",
          flush=True)
    mm.collect_or_load_stats(mm.get_mutant_runner(jobs), apply_config_invalidation=True)


def diffs(names: list[str]) -> dict[str, str]:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    return {name: get_diff_for_mutant(name) for name in names}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m optclaims_report.mutmut_driver")
    step = parser.add_subparsers(dest="step", required=True)
    step.add_parser("prepare").add_argument("--jobs", type=int, default=2)
    step.add_parser("diffs").add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    if args.step == "prepare":
        prepare(args.jobs)
    else:
        json.dump(diffs(args.names), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
