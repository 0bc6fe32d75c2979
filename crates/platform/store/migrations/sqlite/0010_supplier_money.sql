-- Supplier money (issue 16, docs/supply.md §4): supply agreements (versioned, each
-- accepted by the supplier), settlement statements of the trade chain's check-ins (each
-- check-in settled once: its (serial, n) is the primary key of supplier_settled_checkins),
-- and payouts with four eyes (requested by the supplier, checked by one finance user,
-- approved by another).
CREATE TABLE supply_agreements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    version INTEGER NOT NULL CHECK (version >= 1),
    body TEXT NOT NULL,
    sales_mode TEXT NOT NULL CHECK (sales_mode IN ('discount', 'rebate')),
    commission_bp INTEGER NOT NULL CHECK (commission_bp BETWEEN 0 AND 10000),
    period TEXT NOT NULL CHECK (period IN ('monthly', 'quarterly')),
    entered_by INTEGER NOT NULL REFERENCES users(id),
    entered_ms INTEGER NOT NULL,
    accepted_by INTEGER REFERENCES users(id),
    accepted_ms INTEGER,
    UNIQUE (org_id, version)
);
CREATE TABLE supplier_statements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    period TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    period_start_ms INTEGER NOT NULL,
    period_end_ms INTEGER NOT NULL,
    agreement_id INTEGER NOT NULL REFERENCES supply_agreements(id),
    commission_bp INTEGER NOT NULL,
    gross_fen INTEGER NOT NULL CHECK (gross_fen > 0),
    commission_fen INTEGER NOT NULL CHECK (commission_fen >= 0),
    net_fen INTEGER NOT NULL CHECK (net_fen >= 0),
    checkins INTEGER NOT NULL,
    journal_tx_id INTEGER NOT NULL REFERENCES journal_tx(id),
    run_by INTEGER NOT NULL REFERENCES users(id),
    run_ms INTEGER NOT NULL,
    CHECK (gross_fen = commission_fen + net_fen),
    UNIQUE (org_id, period, seq)
);
CREATE TABLE supplier_settled_checkins (
    serial TEXT NOT NULL,
    n INTEGER NOT NULL,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    statement_id INTEGER NOT NULL REFERENCES supplier_statements(id),
    end_ms INTEGER NOT NULL,
    cost_fen INTEGER NOT NULL CHECK (cost_fen >= 0),
    PRIMARY KEY (serial, n)
);
CREATE INDEX supplier_settled_by_org ON supplier_settled_checkins(org_id, serial);
CREATE TABLE supplier_payouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    requested_by INTEGER NOT NULL REFERENCES users(id),
    requested_ms INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'checked', 'approved', 'rejected')),
    checked_by INTEGER REFERENCES users(id),
    checked_ms INTEGER,
    decided_by INTEGER REFERENCES users(id),
    decided_ms INTEGER,
    reason TEXT,
    journal_tx_id INTEGER REFERENCES journal_tx(id),
    CHECK (checked_by IS NULL OR checked_by <> requested_by),
    CHECK (status <> 'approved' OR (checked_by IS NOT NULL AND decided_by <> requested_by
        AND decided_by <> checked_by))
);
CREATE INDEX supplier_payouts_by_org ON supplier_payouts(org_id, id);
