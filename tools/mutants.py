"""Mutation checks: break one core invariant at a time and make sure a named test notices (``make mutants``).

Each mutation below names the exact source text it replaces and the test(s) that must then fail. For each one,
the repository's tracked files (as committed, plus uncommitted changes to tracked files) are copied into a
temporary directory with a symlink to ``.venv``, the text is replaced (it must occur exactly once: a mutation
whose text has moved stops the run, so the list cannot rot silently), and the tests run there with
``-x -q -p no:cacheprovider``. A test run that fails (pytest's exit code 1) has caught the mutation; one that
passes lets it SURVIVE. Before the mutations, the named tests run once unmutated and must pass.

    .venv/bin/python tools/mutants.py              # all of them
    .venv/bin/python tools/mutants.py four-eyes    # some, by name
    .venv/bin/python tools/mutants.py --list

The tests run on SQLite unless DATABASE_URL is set (the database guards mutated here are SQLite's, in the latest
guard migration's file, ``GUARDS`` below: the guards a fresh database gets; PostgreSQL's file holds the same guards).
Exit status: 0 when every mutation is caught, 1 when one survives or its tests err, 2 when a mutation's text is not
found exactly once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Today's guards: the highest-numbered guard migration's SQLite file (ledger.dbguards; older files are history).
GUARDS = str(max((ROOT / "ledger/migrations/sql").glob("*_guards.sqlite.sql")).relative_to(ROOT))


@dataclass(frozen=True)
class Mutation:
    name: str
    edits: tuple[tuple[str, str, str], ...]  # (file, exact text, replacement)
    tests: tuple[str, ...]  # pytest node ids, of which at least one must fail


def m(name: str, path: str, old: str, new: str, *tests: str) -> Mutation:
    return Mutation(name, ((path, old, new),), tests)


MUTATIONS = [
    # -- the ledger: balanced, immutable, chained
    m("balance check in the service", "ledger/services/legs.py",
      "def _balance(legs: list[LegSpec], checked: list[list]) -> None:\n",
      "def _balance(legs: list[LegSpec], checked: list[list]) -> None:\n    return\n",
      "tests/ledger/test_refusals.py::test_legs_that_do_not_balance"),
    # With the service's check gone the database still refuses: this test posts unbalanced legs by raw SQL.
    m("balance guard in the database", GUARDS,
      "BEGIN SELECT RAISE(ABORT, 'ledger: the legs of an entry must balance per fund, per currency and in CNY'); END;",
      "BEGIN SELECT NULL; END;",
      "tests/ledger/test_db_guards.py::test_posting_an_unbalanced_entry_is_refused"),
    m("posted entry editable", GUARDS,
      "BEGIN SELECT RAISE(ABORT, 'ledger: a posted entry cannot be changed'); END;",
      "BEGIN SELECT NULL; END;",
      "tests/ledger/test_db_guards.py::test_changing_or_deleting_a_posted_entry_is_refused"),
    m("posted leg editable", GUARDS,
      "BEGIN SELECT RAISE(ABORT, 'ledger: a leg of a posted entry cannot be changed'); END;",
      "BEGIN SELECT NULL; END;",
      "tests/ledger/test_db_guards.py::test_updating_a_posted_leg_is_refused"),
    m("chain hash without the previous hash", "ledger/hashing.py",
      '    digest.update(previous_hash.encode("ascii"))\n', "",
      "tests/ledger/test_chain.py::test_each_entry_hash_is_the_link_computed_by_hand"),
    m("verify_book skips the previous-hash comparison", "ledger/verification.py",
      "        if prev != previous:\n", "        if False:\n",
      "tests/ledger/test_chain.py::test_a_rewritten_previous_hash_alone_is_found"),
    # -- restricted funds never below zero
    m("fund overdraft check in the service", "ledger/services/batch.py",
      "if deltas[fund_id] < 0 and restriction != Restriction.UNRESTRICTED and net_assets + deltas[fund_id] < 0:",
      "if False:",
      "tests/ledger/test_refusals.py::test_restricted_fund_overspending"),
    m("fund CHECK constraint in the database", "ledger/migrations/0001_initial.py",
      "('net_assets__gte', 0), _connector='OR'), name='ledger_fund_restricted_never_below_zero'",
      "('net_assets__gte', -2 ** 62), _connector='OR'), name='ledger_fund_restricted_never_below_zero'",
      "tests/ledger/test_db_guards.py::test_a_restricted_funds_net_assets_never_go_below_zero"),
    # -- four eyes, privacy, donors
    m("four eyes: the drafter approves", "beneficiaries/services/disbursements.py",
      "    if not outside and user.pk == d.created_by_id:\n", "    if False:\n",
      "tests/beneficiaries/test_disbursements.py::test_four_eyes_refuses_the_drafter"),
    m("PII shown to everyone", "beneficiaries/privacy.py",
      "    return bool(user is not None and user.is_active and user.has_perm(PII_PERMISSION))\n",
      "    return True\n",
      # tests/reliability/test_privacy.py (being rewritten) does not catch this one today; the registry's test does
      "tests/beneficiaries/test_registry.py::test_pii_masked_for_a_user_without_the_permission"),
    m("donor portal without the own-donor filter", "charity/pages/donor.py",
      "Donation.objects.filter(donor=donor, external_id=external_id)",
      "Donation.objects.filter(external_id=external_id)",
      "tests/pages/test_donor_portal.py::test_another_donors_gift_is_404"),
    # -- who may act
    Mutation("CSRF not enforced on session-authenticated API calls", (
        ("charity/api/permissions.py", "        return user.has_perm(needed, trust)\n",
         "        return user.has_perm(needed, trust)\n\n\n"
         "from rest_framework.authentication import SessionAuthentication  # noqa: E402\n\n\n"
         "class SessionWithoutCsrf(SessionAuthentication):\n"
         "    def enforce_csrf(self, request):\n        return\n"),
        ("charity/settings.py", '"rest_framework.authentication.SessionAuthentication",',
         '"charity.api.permissions.SessionWithoutCsrf",'),
    ), ("tests/test_csrf.py",)),
    m("a role counts in every trust", "charity/backends.py",
      "Membership.objects.filter(user=user_obj, trust__book_id=book_id)",
      "Membership.objects.filter(user=user_obj)",
      "tests/charity/test_authority.py"),
    m("require() checks nothing", "ledger/authority.py",
      "    if not allowed(user, perm, book):\n", "    if False:\n",
      "tests/charity/test_authority.py"),
    m("the admin lets in any signed-in user", "charity/admin_site.py",
      "        return is_administrator(request.user)\n", "        return request.user.is_active\n",
      "tests/api/test_admin_matrix.py"),
]


def _snapshot(into: Path) -> None:
    """The tracked files as they are now: ``git stash create`` makes a commit of uncommitted changes to tracked
    files (it prints nothing when there are none), then ``git archive`` writes that commit out."""
    ref = subprocess.run(["git", "stash", "create"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip() or "HEAD"
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / ".venv").symlink_to(ROOT / ".venv")


def _apply(tree: Path, mutation: Mutation) -> str | None:
    """Apply the mutation's edits to ``tree``; the error when a text is not found exactly once."""
    for path, old, new in mutation.edits:
        file = tree / path
        text = file.read_text(encoding="utf-8") if file.exists() else ""
        if text.count(old) != 1:
            return f"{mutation.name}: {path} holds the text {text.count(old)} times, not once: {old!r}"
        file.write_text(text.replace(old, new), encoding="utf-8")
    return None


def _pytest(tree: Path, tests) -> int:
    command = [str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", *tests, "-x", "-q", "-p", "no:cacheprovider"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def main(argv: list[str]) -> int:
    if "--list" in argv:
        for mutation in MUTATIONS:
            print(f"{mutation.name}: {', '.join(mutation.tests)}")
        return 0
    chosen = [mu for mu in MUTATIONS if not argv or any(a in mu.name for a in argv)]
    if not chosen:  # never fall through to a pytest run with no test named (the whole suite)
        print(f"no mutation is named like {argv}; see --list", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ctl-mutants-") as tmp:
        pristine = Path(tmp) / "pristine"
        pristine.mkdir()
        _snapshot(pristine)
        problems = []
        for mutation in chosen:  # every text first: a stale mutation stops the run before anything is timed
            trial = Path(tmp) / "trial"
            for path, _old, _new in mutation.edits:
                (trial / path).parent.mkdir(parents=True, exist_ok=True)
                if (pristine / path).exists():
                    shutil.copy(pristine / path, trial / path)
            problems += [p for p in [_apply(trial, mutation)] if p]
            shutil.rmtree(trial)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 2
        tests = sorted({t for mu in chosen for t in mu.tests})
        code = _pytest(pristine, tests)
        if code != 0:
            print(f"the named tests fail before any mutation (pytest exit {code}): fix them first", file=sys.stderr)
            return 1
        print(f"{'mutation':<56} {'result':<12} {'secs':>5}  tests")
        rows = []
        for mutation in chosen:
            tree = Path(tmp) / "mutant"
            shutil.copytree(pristine, tree, symlinks=True)
            _apply(tree, mutation)
            t0 = time.monotonic()
            code = _pytest(tree, mutation.tests)
            result = {0: "SURVIVED", 1: "caught"}.get(code, f"ERROR ({code})")
            rows.append(result)
            print(f"{mutation.name:<56} {result:<12} {time.monotonic() - t0:>5.0f}  {' '.join(mutation.tests)}",
                  flush=True)
            shutil.rmtree(tree)
    caught = rows.count("caught")
    print(f"{caught} of {len(rows)} caught in {time.monotonic() - started:.0f} s")
    return 0 if caught == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
