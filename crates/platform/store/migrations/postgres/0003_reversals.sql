-- Which transaction reverses which: at most one reversal per transaction (primary key),
-- a reversal is never itself reversed (the store refuses it). Append-only like the journal.
CREATE TABLE journal_reversals (
    original_tx_id BIGINT PRIMARY KEY REFERENCES journal_tx(id),
    reversal_tx_id BIGINT NOT NULL UNIQUE REFERENCES journal_tx(id)
);
CREATE TRIGGER journal_reversals_no_change BEFORE UPDATE OR DELETE ON journal_reversals
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
