-- Guards of the ledger on PostgreSQL. Statements are separated by lines holding only "-- ;".
-- Checks that read other rows are set-based: they run once per statement over the statement's transition table
-- (a bulk post of 10,000 drafts is one check, not 10,000), and once more per posted entry at commit.
--
-- The posted entries among p_entries must each have two legs or more, balance per fund, per currency and in
-- CNY, and keep to the purpose rules. One query over all of them; the first problem found is raised.
CREATE OR REPLACE FUNCTION ledger_check_entries(p_entries bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_entry bigint;
    v_problem text;
BEGIN
    SELECT x.entry, x.problem INTO v_entry, v_problem FROM (
        SELECT e.id AS entry,
            CASE
                WHEN GROUPING(l.fund_id) = 1 AND COUNT(l.id) < 2 THEN 'legs'
                WHEN GROUPING(l.fund_id) = 1 AND bool_or(
                    a.book_id <> e.book_id OR f.book_id <> e.book_id
                    OR (l.debit > 0 AND a.type = 'expense' AND (
                        f.restriction = 'endowment'
                        OR (f.restriction = 'restricted' AND (a.purpose = '' OR a.purpose <> f.purpose))))
                ) THEN 'rules'
                WHEN GROUPING(l.fund_id) = 0 AND GROUPING(l.currency) = 0 AND SUM(l.debit) <> SUM(l.credit)
                    THEN 'balance'
                WHEN GROUPING(l.fund_id) = 0 AND GROUPING(l.currency) = 1 AND SUM(l.debit_cny) <> SUM(l.credit_cny)
                    THEN 'balance'
            END AS problem
        FROM unnest(p_entries) AS p(id)
        JOIN ledger_journalentry e ON e.id = p.id
        LEFT JOIN ledger_leg l ON l.entry_id = e.id
        LEFT JOIN ledger_account a ON a.id = l.account_id
        LEFT JOIN ledger_fund f ON f.id = l.fund_id
        WHERE e.status = 'posted'
        GROUP BY GROUPING SETS ((e.id), (e.id, l.fund_id), (e.id, l.fund_id, l.currency))
    ) x
    WHERE x.problem IS NOT NULL
    ORDER BY x.entry, CASE x.problem WHEN 'legs' THEN 1 WHEN 'balance' THEN 2 ELSE 3 END
    LIMIT 1;
    IF v_problem = 'legs' THEN
        RAISE EXCEPTION 'ledger: entry % has fewer than two legs', v_entry USING ERRCODE = '23514';
    ELSIF v_problem = 'balance' THEN
        RAISE EXCEPTION 'ledger: the legs of entry % must balance per fund, per currency and in CNY', v_entry
            USING ERRCODE = '23514';
    ELSIF v_problem = 'rules' THEN
        RAISE EXCEPTION 'ledger: entry % uses an account or fund of another book, or spends a fund against its purpose',
            v_entry USING ERRCODE = '23514';
    END IF;
END;
$$;
-- ;
CREATE OR REPLACE FUNCTION ledger_check_entry(p_entry bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_entries(ARRAY[p_entry]);
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
    v_date date;
BEGIN
    -- ledger_entry_guard has already refused any change to a posted row, so every row posted now was a draft.
    SELECT array_agg(id) INTO v_posted FROM new_entries WHERE status = 'posted';
    IF v_posted IS NULL THEN
        RETURN NULL;
    END IF;
    -- A draft written before its month was closed is not posted into it afterwards.
    SELECT n.date INTO v_date FROM new_entries n JOIN ledger_book b ON b.id = n.book_id
    WHERE n.status = 'posted' AND b.closed_through IS NOT NULL AND n.date <= b.closed_through LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: entry dated % falls in a closed period', v_date USING ERRCODE = '23514';
    END IF;
    PERFORM ledger_check_entries(v_posted);
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
    PERFORM ledger_check_entries(ARRAY[NEW.id]);
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
