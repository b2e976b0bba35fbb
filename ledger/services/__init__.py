"""The only write path into the books; see each module (and docs/ledger.md) for how it works.

- ``legs``: what a caller asks to post (``LegSpec``, ``Dr``, ``Cr``) and its validation into frozen legs;
- ``rows``: the rows, the hash and the instances a prepared entry becomes;
- ``fifo``: each fund's queue of open sources, spending allocated oldest first;
- ``writer``: the reads and writes of posting, the one place that knows the database engine;
- ``batch``: posting (``entry_post``, ``posting_batch``), a single post being a batch of one;
- ``reversal``: reversals and income given back;
- ``periods``: closing months;
- ``closing``: posting a year's last entries (revaluation, closing entries) into its closed last day, once;
- ``setup``: books, accounts, funds and the system user.
"""

from .batch import PostingBatch, entry_check, entry_post, posting_batch
from .legs import CENT, MAX_AMOUNT, Cr, Dr, LegSpec, round_cny
from .closing import REVALUATION, YEAR_CLOSE, YearEnd, first_open_month, year_end
from .periods import month_bounds, period_close
from .reversal import entry_reverse
from .setup import account_create, book_create, fund_create, system_user

__all__ = [
    "CENT", "MAX_AMOUNT", "Cr", "Dr", "LegSpec", "PostingBatch", "account_create", "book_create", "entry_check",
    "entry_post", "entry_reverse", "fund_create", "month_bounds", "period_close", "posting_batch", "round_cny",
    "system_user", "REVALUATION", "YEAR_CLOSE", "YearEnd", "first_open_month", "year_end",
]
