-- Guards of the ledger on SQLite. Statements are separated by lines holding only "-- ;".
-- Since 0010: an income account that names a restriction takes income only in a fund of that restriction (an
-- endowment counts as restricted).
-- An entry is born a draft; its legs are inserted under it; draft -> posted is checked here.
CREATE TRIGGER ledger_entry_born_draft BEFORE INSERT ON ledger_journalentry
WHEN NEW.status <> 'draft'
BEGIN SELECT RAISE(ABORT, 'ledger: an entry is inserted as a draft and posted afterwards'); END;
-- ;
CREATE TRIGGER ledger_entry_closed_period BEFORE INSERT ON ledger_journalentry
WHEN EXISTS (SELECT 1 FROM ledger_book b WHERE b.id = NEW.book_id AND b.closed_through IS NOT NULL
             AND NEW.date <= b.closed_through)
BEGIN SELECT RAISE(ABORT, 'ledger: entry dated in a closed period'); END;
-- ;
-- A draft written before its month was closed is not posted into it afterwards.
CREATE TRIGGER ledger_entry_post_closed_period BEFORE UPDATE OF status ON ledger_journalentry
WHEN NEW.status = 'posted' AND EXISTS (SELECT 1 FROM ledger_book b WHERE b.id = NEW.book_id
             AND b.closed_through IS NOT NULL AND NEW.date <= b.closed_through)
BEGIN SELECT RAISE(ABORT, 'ledger: entry dated in a closed period'); END;
-- ;
CREATE TRIGGER ledger_entry_posted_no_update BEFORE UPDATE ON ledger_journalentry
WHEN OLD.status = 'posted'
BEGIN SELECT RAISE(ABORT, 'ledger: a posted entry cannot be changed'); END;
-- ;
CREATE TRIGGER ledger_entry_posted_no_delete BEFORE DELETE ON ledger_journalentry
WHEN OLD.status = 'posted'
BEGIN SELECT RAISE(ABORT, 'ledger: a posted entry cannot be deleted'); END;
-- ;
CREATE TRIGGER ledger_entry_post_balanced BEFORE UPDATE OF status ON ledger_journalentry
WHEN OLD.status = 'draft' AND NEW.status = 'posted' AND (
    (SELECT COUNT(*) FROM ledger_leg WHERE entry_id = NEW.id) < 2
    OR EXISTS (SELECT 1 FROM ledger_leg WHERE entry_id = NEW.id
               GROUP BY fund_id, currency HAVING SUM(debit) <> SUM(credit))
    OR EXISTS (SELECT 1 FROM ledger_leg WHERE entry_id = NEW.id
               GROUP BY fund_id HAVING SUM(debit_cny) <> SUM(credit_cny))
)
BEGIN SELECT RAISE(ABORT, 'ledger: the legs of an entry must balance per fund, per currency and in CNY'); END;
-- ;
CREATE TRIGGER ledger_entry_post_rules BEFORE UPDATE OF status ON ledger_journalentry
WHEN OLD.status = 'draft' AND NEW.status = 'posted' AND EXISTS (
    SELECT 1 FROM ledger_leg l
    JOIN ledger_account a ON a.id = l.account_id
    JOIN ledger_fund f ON f.id = l.fund_id
    WHERE l.entry_id = NEW.id AND (
        a.book_id <> NEW.book_id OR f.book_id <> NEW.book_id
        OR (l.debit > 0 AND a.type = 'expense' AND (
            f.restriction = 'endowment'
            OR (f.restriction = 'restricted' AND (a.purpose = '' OR a.purpose <> f.purpose))))
            OR (a.type = 'income' AND a.restriction <> '' AND a.restriction <> f.restriction
                AND NOT (a.restriction = 'restricted' AND f.restriction = 'endowment'))
    )
)
BEGIN SELECT RAISE(ABORT, 'ledger: a leg uses an account or fund of another book, or spends a fund against its purpose or takes income of another restriction'); END;
-- ;
CREATE TRIGGER ledger_leg_no_insert_posted BEFORE INSERT ON ledger_leg
WHEN (SELECT status FROM ledger_journalentry WHERE id = NEW.entry_id) = 'posted'
BEGIN SELECT RAISE(ABORT, 'ledger: legs cannot be added to a posted entry'); END;
-- ;
CREATE TRIGGER ledger_leg_no_update_posted BEFORE UPDATE ON ledger_leg
WHEN (SELECT status FROM ledger_journalentry WHERE id = OLD.entry_id) = 'posted'
  OR (SELECT status FROM ledger_journalentry WHERE id = NEW.entry_id) = 'posted'
BEGIN SELECT RAISE(ABORT, 'ledger: a leg of a posted entry cannot be changed'); END;
-- ;
CREATE TRIGGER ledger_leg_no_delete_posted BEFORE DELETE ON ledger_leg
WHEN (SELECT status FROM ledger_journalentry WHERE id = OLD.entry_id) = 'posted'
BEGIN SELECT RAISE(ABORT, 'ledger: a leg of a posted entry cannot be deleted'); END;
-- ;
CREATE TRIGGER ledger_allocation_no_update BEFORE UPDATE ON ledger_allocation
BEGIN SELECT RAISE(ABORT, 'ledger: allocations are append-only'); END;
-- ;
CREATE TRIGGER ledger_allocation_no_delete BEFORE DELETE ON ledger_allocation
BEGIN SELECT RAISE(ABORT, 'ledger: allocations are append-only'); END;
-- ;
-- A closing entry (结转, JournalEntry.closing) moves only income, expense and net asset accounts.
CREATE TRIGGER ledger_closing_entry_accounts BEFORE UPDATE OF status ON ledger_journalentry
WHEN OLD.status = 'draft' AND NEW.status = 'posted' AND NEW.closing AND EXISTS (
    SELECT 1 FROM ledger_leg l JOIN ledger_account a ON a.id = l.account_id
    WHERE l.entry_id = NEW.id AND a.type NOT IN ('income', 'expense', 'net_assets')
)
BEGIN SELECT RAISE(ABORT, 'ledger: a closing entry moves only income, expense and net asset accounts'); END;
