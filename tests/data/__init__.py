"""Data the tests read, kept in the repository so that the suite needs nothing beside the checkout."""

from pathlib import Path

# One fictitious year of a trust (CSV files for import_csv and expected.json); see its README.md.
TRUST_2025 = Path(__file__).resolve().with_name("trust-2025")
