-- Which transaction reverses which: at most one reversal per transaction (primary key),
-- a reversal is never itself reversed (the store refuses it). Append-only like the journal.
CREATE TABLE journal_reversals (
    original_tx_id INTEGER PRIMARY KEY REFERENCES journal_tx(id),
    reversal_tx_id INTEGER NOT NULL UNIQUE REFERENCES journal_tx(id)
);
CREATE TRIGGER journal_reversals_no_update BEFORE UPDATE ON journal_reversals
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER journal_reversals_no_delete BEFORE DELETE ON journal_reversals
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
