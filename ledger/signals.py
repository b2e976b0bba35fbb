"""What the ledger tells whoever listens, without knowing who does (the charity app's metrics, for one).

``entries_posted`` is sent once a posting transaction has committed (``transaction.on_commit``), never for one
that rolled back, with ``count`` (new entries it posted; idempotent replays are not counted) and ``seconds`` (the
time from opening the batch to its last write, i.e. the posting's latency as its caller saw it). A receiver must
not raise: the entries are already committed.
"""

from django.dispatch import Signal

entries_posted = Signal()
