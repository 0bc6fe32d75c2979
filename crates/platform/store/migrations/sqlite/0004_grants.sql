-- Voucher grants and credit-line changes by finance users (four eyes above a limit): a
-- change within the entering user's limit is executed at once ('alone'); above it, it
-- waits ('pending') until another finance user approves it ('approved').
CREATE TABLE money_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    kind TEXT NOT NULL CHECK (kind IN ('voucher', 'credit_line')),
    amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
    idem_key TEXT,
    entered_by INTEGER NOT NULL REFERENCES users(id),
    entered_ms INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('alone', 'pending', 'approved')),
    decided_by INTEGER REFERENCES users(id),
    decided_ms INTEGER,
    CHECK (decided_by IS NULL OR decided_by <> entered_by),
    UNIQUE (org_id, kind, idem_key)
);
CREATE INDEX money_grants_by_user ON money_grants(entered_by, kind, entered_ms);
