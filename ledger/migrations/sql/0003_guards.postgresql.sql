-- Guards of the ledger on PostgreSQL. Statements are separated by lines holding only "-- ;".
-- The legs of entry p_entry of book p_book must balance and keep to the purpose rules. Called by the BEFORE
-- trigger on draft -> posted (while the stored row still says draft, so it is told the book) and, through
-- ledger_check_entry, at commit.
CREATE OR REPLACE FUNCTION ledger_check_legs(p_entry bigint, p_book bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COUNT(*) FROM ledger_leg WHERE entry_id = p_entry) < 2 THEN
        RAISE EXCEPTION 'ledger: entry % has fewer than two legs', p_entry USING ERRCODE = '23514';
    END IF;
    IF EXISTS (SELECT 1 FROM ledger_leg WHERE entry_id = p_entry
               GROUP BY fund_id, currency HAVING SUM(debit) <> SUM(credit))
       OR EXISTS (SELECT 1 FROM ledger_leg WHERE entry_id = p_entry
               GROUP BY fund_id HAVING SUM(debit_cny) <> SUM(credit_cny)) THEN
        RAISE EXCEPTION 'ledger: the legs of entry % must balance per fund, per currency and in CNY', p_entry
            USING ERRCODE = '23514';
    END IF;
    IF EXISTS (
        SELECT 1 FROM ledger_leg l
        JOIN ledger_account a ON a.id = l.account_id
        JOIN ledger_fund f ON f.id = l.fund_id
        WHERE l.entry_id = p_entry AND (
            a.book_id <> p_book OR f.book_id <> p_book
            OR (l.debit > 0 AND a.type = 'expense' AND (
                f.restriction = 'endowment'
                OR (f.restriction = 'restricted' AND (a.purpose = '' OR a.purpose <> f.purpose)))))
    ) THEN
        RAISE EXCEPTION 'ledger: entry % uses an account or fund of another book, or spends a fund against its purpose',
            p_entry USING ERRCODE = '23514';
    END IF;
END;
$$;
-- ;
CREATE OR REPLACE FUNCTION ledger_check_entry(p_entry bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_book bigint;
    v_status text;
BEGIN
    SELECT book_id, status INTO v_book, v_status FROM ledger_journalentry WHERE id = p_entry;
    IF v_status IS DISTINCT FROM 'posted' THEN
        RETURN;
    END IF;
    PERFORM ledger_check_legs(p_entry, v_book);
END;
$$;
-- ;
CREATE OR REPLACE FUNCTION ledger_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_closed date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'draft' THEN
            RAISE EXCEPTION 'ledger: an entry is inserted as a draft and posted afterwards' USING ERRCODE = '23514';
        END IF;
        SELECT closed_through INTO v_closed FROM ledger_book WHERE id = NEW.book_id;
        IF v_closed IS NOT NULL AND NEW.date <= v_closed THEN
            RAISE EXCEPTION 'ledger: entry dated % falls in a closed period', NEW.date USING ERRCODE = '23514';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status = 'posted' THEN
        RAISE EXCEPTION 'ledger: a posted entry cannot be %', lower(TG_OP) USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.status = 'posted' THEN
        -- A draft written before its month was closed is not posted into it afterwards.
        SELECT closed_through INTO v_closed FROM ledger_book WHERE id = NEW.book_id;
        IF v_closed IS NOT NULL AND NEW.date <= v_closed THEN
            RAISE EXCEPTION 'ledger: entry dated % falls in a closed period', NEW.date USING ERRCODE = '23514';
        END IF;
        -- Not ledger_check_entry(NEW.id): in a BEFORE trigger the stored row is still the draft, so that would
        -- see 'draft' and check nothing.
        PERFORM ledger_check_legs(NEW.id, NEW.book_id);
    END IF;
    RETURN NEW;
END;
$$;
-- ;
CREATE TRIGGER ledger_entry_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_journalentry
FOR EACH ROW EXECUTE FUNCTION ledger_entry_guard();
-- ;
-- A second guard at commit: whatever happened in the transaction, a posted entry must balance then.
CREATE OR REPLACE FUNCTION ledger_entry_commit_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_entry(NEW.id);
    RETURN NULL;
END;
$$;
-- ;
CREATE CONSTRAINT TRIGGER ledger_entry_commit_check AFTER INSERT OR UPDATE ON ledger_journalentry
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status = 'posted')
EXECUTE FUNCTION ledger_entry_commit_check();
-- ;
CREATE OR REPLACE FUNCTION ledger_leg_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND
       (SELECT status FROM ledger_journalentry WHERE id = OLD.entry_id) = 'posted' THEN
        RAISE EXCEPTION 'ledger: a leg of a posted entry cannot be %', lower(TG_OP) USING ERRCODE = '23514';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND
       (SELECT status FROM ledger_journalentry WHERE id = NEW.entry_id) = 'posted' THEN
        RAISE EXCEPTION 'ledger: legs cannot be added to or moved into a posted entry' USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
-- ;
CREATE TRIGGER ledger_leg_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_leg
FOR EACH ROW EXECUTE FUNCTION ledger_leg_guard();
-- ;
CREATE OR REPLACE FUNCTION ledger_allocation_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: allocations are append-only' USING ERRCODE = '23514';
END;
$$;
-- ;
CREATE TRIGGER ledger_allocation_guard BEFORE UPDATE OR DELETE ON ledger_allocation
FOR EACH ROW EXECUTE FUNCTION ledger_allocation_guard();
