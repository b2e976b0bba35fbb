"""Before/after in one run: the bench of a base revision and of the working tree, one after the other, side by side.

    python bench/compare.py --base HEAD~1 [--mode tiny|quick|full] [--run-args "--ours-only --only-apps B6"]
    make bench-compare BASE=HEAD~1 [MODE=tiny]          (bench/bench.mk)

BASE is checked out (detached) into a temporary git worktree outside the repository (``$TMPDIR/ctl-bench-compare-*``,
removed at the end), and each tree runs its OWN ``bench/run.py`` with this project's Python (the venv is shared;
the bench's httpx comes from the caller's environment): first BASE, then the working tree, on the engine
``DATABASE_URL`` chooses. The scratch databases never collide: on PostgreSQL the two runs get ``<base>_base`` and
``<base>_new`` (``<base>`` being the database named in DATABASE_URL when it starts with ``ctl_bench``, else
``ctl_bench``; each run adds its own ``_hordak`` / ``_demo``), on SQLite each tree has its own ``var/``. The
results JSON of both runs go to ``--out`` (default ``var/bench-compare/<vendor>-<mode>/{base,new}/``), never into
``bench/results/``; the comparison itself to ``compare.json`` there.

The table: one row per figure found in both runs' JSON, base, new, new/base, and ``WORSE`` when the new figure is
worse by more than ``--threshold`` (10%): a rate below 0.9x, a time above 1.1x. On this shared 2-core machine one run
of each is noise-bound (BENCHMARKS.md: 20-40% between runs an hour apart): repeat before believing a flag.
Options the base's ``run.py`` does not know (``--help``) are left out of its command. Exit status: 1 when a run
failed or an exactness check failed, else 0 (a flag alone does not fail).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import common  # noqa: E402

DEFAULT_RUN_ARGS = "--ours-only --only-apps B6"  # B1-B4 (+B1c), and B6 where it runs (PostgreSQL)

# (label, unit, path in the results JSON (alternatives: the first found), higher is better)
FIGURES = [
    ("B1 post, 1 client", "entries/s", [("ours", "B1", "entries_per_s")], True),
    ("B1c post, P processes, own books", "entries/s", [("ours", "B1c", "entries_per_s")], True),
    ("B2 batch of N in 1 txn", "entries/s", [("ours", "B2", "entries_per_s")], True),
    ("B3 balance at a past date, median", "ms", [("ours", "B3", "median_ms")], False),
    ("B4 trial balance for a year", "s", [("ours", "B4", "seconds")], False),
    ("B5 annual-report PDF", "s", [("apps", "B5", "annual", "seconds")], False),
    ("B5 donor-statement PDF, median", "ms", [("apps", "B5", "donor_statement", "median_ms")], False),
    ("B6 reads p50", "ms", [("apps", "B6", "reads", "p50_ms")], False),
    ("B6 reads p99", "ms", [("apps", "B6", "reads", "p99_ms")], False),
    ("B6 read ceiling (closed loop)", "req/s", [("apps", "B6", "saturation", "reads", "per_s")], True),
    ("B6 framework ceiling (/bench/ping/)", "req/s", [("apps", "B6", "saturation", "ping", "per_s")], True),
    ("B6 writes, 1 book", "entries/s", [("apps", "B6", "writes_one_book", "per_s"), ("apps", "B6", "writes", "per_s")],
     True),
    ("B6 writes, 20 books", "entries/s", [("apps", "B6", "writes_spread", "per_s")], True),
    ("B6 writes 1 book / 20 books", "x", [("apps", "B6", "writes_ratio_one_to_spread")], True),
    ("B7 seed_demo", "s", [("apps", "B7", "seed", "seconds")], False),
]


def log(msg: str) -> None:
    print(f"[bench-compare] {msg}", file=sys.stderr, flush=True)


def _get(d, path):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d if isinstance(d, (int, float)) and not isinstance(d, bool) else None


def figure(result: dict, paths) -> float | None:
    for path in paths:
        value = _get(result, path)
        if value is not None:
            return value
    return None


def b6_protocol(result: dict) -> dict:
    """How the run measured B6 (the base may be older than this protocol): reads open at R/s or closed with C
    clients; writes as C clients x a count, or C clients for S seconds."""
    b6 = (result.get("apps") or {}).get("B6") or {}
    reads, one = b6.get("reads") or {}, b6.get("writes_one_book") or b6.get("writes") or {}
    out = {}
    if reads:
        out["reads"] = (f"open loop {reads.get('rate_per_s')}/s" if reads.get("loop") == "open"
                        else f"closed loop, {reads.get('clients')} clients")
    if one:
        out["writes"] = (f"{one.get('clients')} clients x {one.get('requests')} requests" if "books" in one
                         else f"{one.get('clients')} clients for {round(one.get('seconds') or 0)} s")
    return out


def compare_rows(base: dict, new: dict, threshold: float) -> list[dict]:
    rows = []
    for label, unit, paths, higher_better in FIGURES:
        b, n = figure(base, paths), figure(new, paths)
        if b is None and n is None:
            continue
        ratio = n / b if (b and n is not None) else None
        worse = None
        if ratio is not None:
            worse = ratio < 1 - threshold if higher_better else ratio > 1 + threshold
        rows.append({"figure": label, "unit": unit, "base": b, "new": n, "ratio": ratio,
                     "better": "higher" if higher_better else "lower", "worse": worse})
    return rows


def _fmt(value, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("ms", "x"):
        return f"{value:.2f}"
    if unit == "s":
        return f"{value:.3f}"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def table(rows: list[dict], threshold: float) -> str:
    lines = ["| figure | unit | base | new | new/base | better | flag |", "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        flag = f"WORSE (>{threshold:.0%})" if r["worse"] else ""
        lines.append(f"| {r['figure']} | {r['unit']} | {_fmt(r['base'], r['unit'])} | {_fmt(r['new'], r['unit'])} "
                     f"| {ratio} | {r['better']} | {flag} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- the two runs


def run_url(url: str, suffix: str) -> str:
    """DATABASE_URL for one of the two runs: its scratch databases are <base>_<suffix>, <base>_<suffix>_demo..."""
    if common.vendor_of(url) != "postgresql":
        return url
    return common.with_database(url, f"{common.scratch_base(url)}_{suffix}")


def _split_args(text: str) -> list[list[str]]:
    """``--a 1 --b --c x`` -> [["--a", "1"], ["--b"], ["--c", "x"]]: an option with the values that follow it."""
    groups: list[list[str]] = []
    for token in shlex.split(text):
        if token.startswith("--") or not groups:
            groups.append([token])
        else:
            groups[-1].append(token)
    return groups


def known_args(tree: Path, python: str, env: dict, groups: list[list[str]]) -> tuple[list[str], list[str]]:
    """The options of ``groups`` that the tree's run.py lists in its --help; and the ones it does not."""
    proc = subprocess.run([python, "bench/run.py", "--help"], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=120)
    if proc.returncode != 0:  # let the run itself fail and say why
        return [t for g in groups for t in g], []
    keep, dropped = [], []
    for group in groups:
        opt = group[0].split("=", 1)[0]
        if not opt.startswith("--") or re.search(re.escape(opt) + r"[\s,=\]]", proc.stdout):
            keep += group
        else:
            dropped.append(" ".join(group))
    return keep, dropped


def run_tree(name: str, tree: Path, python: str, url: str | None, mode: str, run_args: str, out: Path) -> dict:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "charity.settings"
    env.pop("DEBUG", None)
    # The tree's own code first (run.py puts its root on sys.path itself); nothing of the other tree.
    env["PYTHONPATH"] = os.pathsep.join(p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                        if p and Path(p).resolve() != ROOT)
    if url:
        env["DATABASE_URL"] = url
    else:
        env.pop("DATABASE_URL", None)
    out.mkdir(parents=True, exist_ok=True)
    (tree / "var").mkdir(exist_ok=True)  # as `make bench` does first (the bench's logs and SQLite files go there)
    args, dropped = known_args(tree, python, env, _split_args(f"--mode {mode} --out {out} {run_args}"))
    cmd = [python, "bench/run.py", *args]
    log(f"{name}: {tree} $ {' '.join(cmd)}" + (f"  (not known to its run.py, left out: {dropped})" if dropped else ""))
    t0 = time.perf_counter()
    with open(out / "run.log", "w") as log_file:
        proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log_file.write(line)
            sys.stderr.write(f"  {name}| {line}")
        proc.wait()
    info = {"tree": str(tree), "command": cmd, "dropped_args": dropped, "returncode": proc.returncode,
            "seconds": time.perf_counter() - t0, "log": str(out / "run.log")}
    vendor = common.vendor_of(url or common.env_url())
    for candidate in (out / f"{vendor}-{mode}.json", tree / "bench" / "results" / f"{vendor}-{mode}.json"):
        if candidate.exists() and candidate.stat().st_mtime >= time.time() - info["seconds"] - 5:
            info["results"] = str(candidate)
            break
    return info


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the git revision to compare the working tree with")
    parser.add_argument("--mode", default="quick", help="run.py's --mode for both runs (tiny, quick, full)")
    parser.add_argument("--run-args", default=DEFAULT_RUN_ARGS,
                        help=f"more options for both run.py (default: {DEFAULT_RUN_ARGS!r})")
    parser.add_argument("--threshold", type=float, default=0.10, help="flag a figure worse by more than this")
    parser.add_argument("--out", type=Path, help="where both runs' JSON and compare.json go")
    parser.add_argument("--keep-worktree", action="store_true", help="leave BASE's temporary worktree in place")
    args = parser.parse_args(argv)

    url = os.environ.get("DATABASE_URL") or None
    vendor = common.vendor_of(url or common.env_url())
    base_rev = git("rev-parse", "--verify", f"{args.base}^{{commit}}")
    head = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    out = args.out or (common.VAR / "bench-compare" / f"{vendor}-{args.mode}")
    out = out.resolve()
    python = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="ctl-bench-compare-"))
    tree = tmp / "base"
    log(f"BASE {args.base} = {base_rev[:10]} -> {tree}; new = the working tree {ROOT} (HEAD {head[:10]}"
        f"{', with uncommitted changes' if dirty else ''}); engine {vendor}")
    git("worktree", "add", "--detach", str(tree), base_rev)
    runs = {}
    try:
        hordak = BENCH / ".venv-hordak"
        if hordak.exists() and not (tree / "bench" / ".venv-hordak").exists():
            (tree / "bench" / ".venv-hordak").symlink_to(hordak)  # the peer's venv, when the run wants it
        runs["base"] = run_tree("base", tree, python, run_url(url, "base") if url else None, args.mode,
                                args.run_args, out / "base")
        runs["new"] = run_tree("new", ROOT, python, run_url(url, "new") if url else None, args.mode, args.run_args,
                               out / "new")
    finally:
        if args.keep_worktree:
            log(f"BASE's worktree left in {tree} (git worktree remove --force {tree})")
        else:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
            subprocess.run(["rm", "-rf", str(tmp)])

    results = {}
    for name, info in runs.items():
        if info.get("results"):
            results[name] = json.loads(Path(info["results"]).read_text())
    rows = compare_rows(results.get("base", {}), results.get("new", {}), args.threshold)
    report = {"base": {"rev": args.base, "commit": base_rev, **runs.get("base", {})},
              "new": {"tree": str(ROOT), "head": head, "uncommitted_changes": dirty, **runs.get("new", {})},
              "vendor": vendor, "mode": args.mode, "run_args": args.run_args, "threshold": args.threshold,
              "exact": {k: r.get("exact") for k, r in results.items()},
              "b6_protocol": {k: b6_protocol(r) for k, r in results.items()}, "rows": rows}
    (out / "compare.json").write_text(json.dumps(report, indent=2, default=str))

    print(f"\n{vendor} / {args.mode}: base {args.base} ({base_rev[:10]}) vs the working tree (HEAD {head[:10]}"
          f"{' + changes' if dirty else ''}) -> {out / 'compare.json'}\n")
    print(table(rows, args.threshold))
    protocols = report["b6_protocol"]
    for part in ("reads", "writes"):
        b, n = (protocols.get("base") or {}).get(part), (protocols.get("new") or {}).get(part)
        if b and n and b != n:
            print(f"- B6 {part} were measured differently: base {b}, new {n}: their figures are not comparable")
    failed = []
    for name, info in runs.items():
        if info.get("dropped_args"):
            print(f"- {name}'s run.py does not know {info['dropped_args']}: left out")
        if info.get("returncode") != 0 or name not in results:
            failed.append(name)
            print(f"- the {name} run failed (exit {info.get('returncode')}); its log: {info.get('log')}")
        elif results[name].get("exact") is False:
            failed.append(name)
            print(f"- the {name} run failed an exactness check (see {info.get('results')})")
    for name in ("base", "new"):
        if name not in runs:
            failed.append(name)
    worse = [r["figure"] for r in rows if r["worse"]]
    print(f"- {len(worse)} figure(s) worse by more than {args.threshold:.0%}: {', '.join(worse) or 'none'}; "
          "one run each on a shared machine: repeat before believing a flag")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
