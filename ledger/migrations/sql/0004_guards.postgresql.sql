-- Guards of the ledger on PostgreSQL. Statements are separated by lines holding only "-- ;".
-- Checks that read other rows are set-based: they run once per statement over the statement's transition table
-- (a bulk post of 10,000 drafts is one check, not 10,000), and once more per posted entry at commit.
--
-- A posted entry must have two legs or more, balance per fund, per currency and in CNY, and keep to the purpose
-- rules. One query over the entry's legs, found by its index (the form that stays fast whatever the statistics).
CREATE OR REPLACE FUNCTION ledger_check_entry(p_entry bigint, p_book bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_problem int;
BEGIN
    SELECT MIN(x.problem) INTO v_problem FROM (
        SELECT CASE
                WHEN GROUPING(l.fund_id) = 1 AND COUNT(l.id) < 2 THEN 1
                WHEN GROUPING(l.fund_id) = 0 AND GROUPING(l.currency) = 0 AND SUM(l.debit) <> SUM(l.credit) THEN 2
                WHEN GROUPING(l.fund_id) = 0 AND GROUPING(l.currency) = 1 AND SUM(l.debit_cny) <> SUM(l.credit_cny)
                    THEN 2
                WHEN GROUPING(l.fund_id) = 1 AND bool_or(
                    a.book_id <> p_book OR f.book_id <> p_book
                    OR (l.debit > 0 AND a.type = 'expense' AND (
                        f.restriction = 'endowment'
                        OR (f.restriction = 'restricted' AND (a.purpose = '' OR a.purpose <> f.purpose))))
                ) THEN 3
            END AS problem
        FROM ledger_leg l
        JOIN ledger_account a ON a.id = l.account_id
        JOIN ledger_fund f ON f.id = l.fund_id
        WHERE l.entry_id = p_entry
        GROUP BY GROUPING SETS ((), (l.fund_id), (l.fund_id, l.currency))
    ) x;
    PERFORM ledger_raise_entry_problem(p_entry, v_problem);
END;
$$;
-- ;
CREATE OR REPLACE FUNCTION ledger_raise_entry_problem(p_entry bigint, p_problem int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_problem = 1 THEN
        RAISE EXCEPTION 'ledger: entry % has fewer than two legs', p_entry USING ERRCODE = '23514';
    ELSIF p_problem = 2 THEN
        RAISE EXCEPTION 'ledger: the legs of entry % must balance per fund, per currency and in CNY', p_entry
            USING ERRCODE = '23514';
    ELSIF p_problem = 3 THEN
        RAISE EXCEPTION 'ledger: entry % uses an account or fund of another book, or spends a fund against its purpose',
            p_entry USING ERRCODE = '23514';
    END IF;
END;
$$;
-- ;
-- The same checks for many posted entries (p_entries, each in book p_books[i]) in one query. A few entries are
-- checked one by one instead: that form uses the index on the legs' entry even when the statistics are stale,
-- where a join from a short list could be planned as a scan of every leg once per statement.
CREATE OR REPLACE FUNCTION ledger_check_entries(p_entries bigint[], p_books bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_entry bigint;
    v_problem int;
BEGIN
    IF coalesce(array_length(p_entries, 1), 0) <= 50 THEN
        FOR i IN 1 .. coalesce(array_length(p_entries, 1), 0) LOOP
            PERFORM ledger_check_entry(p_entries[i], p_books[i]);
        END LOOP;
        RETURN;
    END IF;
    SELECT x.entry, x.problem INTO v_entry, v_problem FROM (
        SELECT p.id AS entry,
            CASE
                WHEN GROUPING(l.fund_id) = 1 AND COUNT(l.id) < 2 THEN 1
                WHEN GROUPING(l.fund_id) = 0 AND GROUPING(l.currency) = 0 AND SUM(l.debit) <> SUM(l.credit) THEN 2
                WHEN GROUPING(l.fund_id) = 0 AND GROUPING(l.currency) = 1 AND SUM(l.debit_cny) <> SUM(l.credit_cny)
                    THEN 2
                WHEN GROUPING(l.fund_id) = 1 AND bool_or(
                    a.book_id <> p.book_id OR f.book_id <> p.book_id
                    OR (l.debit > 0 AND a.type = 'expense' AND (
                        f.restriction = 'endowment'
                        OR (f.restriction = 'restricted' AND (a.purpose = '' OR a.purpose <> f.purpose))))
                ) THEN 3
            END AS problem
        FROM unnest(p_entries, p_books) AS p(id, book_id)
        LEFT JOIN ledger_leg l ON l.entry_id = p.id
        LEFT JOIN ledger_account a ON a.id = l.account_id
        LEFT JOIN ledger_fund f ON f.id = l.fund_id
        GROUP BY GROUPING SETS ((p.id, p.book_id), (p.id, p.book_id, l.fund_id), (p.id, p.book_id, l.fund_id, l.currency))
    ) x
    WHERE x.problem IS NOT NULL
    ORDER BY x.entry, x.problem
    LIMIT 1;
    PERFORM ledger_raise_entry_problem(v_entry, v_problem);
END;
$$;
-- ;
-- A posted entry is never changed or deleted (row by row: no other row is read).
CREATE OR REPLACE FUNCTION ledger_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'posted' THEN
        RAISE EXCEPTION 'ledger: a posted entry cannot be %', lower(TG_OP) USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
-- ;
CREATE TRIGGER ledger_entry_guard BEFORE UPDATE OR DELETE ON ledger_journalentry
FOR EACH ROW EXECUTE FUNCTION ledger_entry_guard();
-- ;
-- An entry is born a draft, never dated in a closed period.
CREATE OR REPLACE FUNCTION ledger_entry_inserted_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_date date;
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries WHERE status <> 'draft') THEN
        RAISE EXCEPTION 'ledger: an entry is inserted as a draft and posted afterwards' USING ERRCODE = '23514';
    END IF;
    SELECT n.date INTO v_date FROM new_entries n JOIN ledger_book b ON b.id = n.book_id
    WHERE b.closed_through IS NOT NULL AND n.date <= b.closed_through LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry dated % falls in a closed period', v_date USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END;
$$;
-- ;
CREATE TRIGGER ledger_entry_inserted_check AFTER INSERT ON ledger_journalentry
REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_inserted_check();
-- ;
-- Draft -> posted: the entries posted by the statement are checked together, at once.
CREATE OR REPLACE FUNCTION ledger_entry_posted_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_posted bigint[];
    v_books bigint[];
    v_date date;
BEGIN
    -- ledger_entry_guard has already refused any change to a posted row, so every row posted now was a draft.
    SELECT array_agg(id), array_agg(book_id) INTO v_posted, v_books FROM new_entries WHERE status = 'posted';
    IF v_posted IS NULL THEN
        RETURN NULL;
    END IF;
    -- A draft written before its month was closed is not posted into it afterwards.
    SELECT n.date INTO v_date FROM new_entries n JOIN ledger_book b ON b.id = n.book_id
    WHERE n.status = 'posted' AND b.closed_through IS NOT NULL AND n.date <= b.closed_through LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry dated % falls in a closed period', v_date USING ERRCODE = '23514';
    END IF;
    PERFORM ledger_check_entries(v_posted, v_books);
    RETURN NULL;
END;
$$;
-- ;
CREATE TRIGGER ledger_entry_posted_check AFTER UPDATE ON ledger_journalentry
REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_posted_check();
-- ;
-- A second guard at commit: whatever happened in the transaction, a posted entry must balance then.
CREATE OR REPLACE FUNCTION ledger_entry_commit_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_entry(NEW.id, NEW.book_id);
    RETURN NULL;
END;
$$;
-- ;
CREATE CONSTRAINT TRIGGER ledger_entry_commit_check AFTER INSERT OR UPDATE ON ledger_journalentry
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status = 'posted')
EXECUTE FUNCTION ledger_entry_commit_check();
-- ;
-- Legs of a posted entry are never changed or deleted.
CREATE OR REPLACE FUNCTION ledger_leg_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT status FROM ledger_journalentry WHERE id = OLD.entry_id) = 'posted' THEN
        RAISE EXCEPTION 'ledger: a leg of a posted entry cannot be %', lower(TG_OP) USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'UPDATE' AND (SELECT status FROM ledger_journalentry WHERE id = NEW.entry_id) = 'posted' THEN
        RAISE EXCEPTION 'ledger: legs cannot be added to or moved into a posted entry' USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
-- ;
CREATE TRIGGER ledger_leg_guard BEFORE UPDATE OR DELETE ON ledger_leg
FOR EACH ROW EXECUTE FUNCTION ledger_leg_guard();
-- ;
-- Legs are added to drafts only (checked per statement: one join however many legs it inserts).
CREATE OR REPLACE FUNCTION ledger_leg_inserted_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_legs n JOIN ledger_journalentry e ON e.id = n.entry_id WHERE e.status = 'posted') THEN
        RAISE EXCEPTION 'ledger: legs cannot be added to or moved into a posted entry' USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END;
$$;
-- ;
CREATE TRIGGER ledger_leg_inserted_check AFTER INSERT ON ledger_leg
REFERENCING NEW TABLE AS new_legs FOR EACH STATEMENT EXECUTE FUNCTION ledger_leg_inserted_check();
-- ;
CREATE OR REPLACE FUNCTION ledger_allocation_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: allocations are append-only' USING ERRCODE = '23514';
END;
$$;
-- ;
CREATE TRIGGER ledger_allocation_guard BEFORE UPDATE OR DELETE ON ledger_allocation
FOR EACH ROW EXECUTE FUNCTION ledger_allocation_guard();
