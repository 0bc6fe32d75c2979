-- Supplier money (issue 16, docs/supply.md §4): supply agreements (versioned, each
-- accepted by the supplier), settlement statements of the trade chain's check-ins (each
-- check-in settled once: its (serial, n) is the primary key of supplier_settled_checkins),
-- and payouts with four eyes (requested by the supplier, checked by one finance user,
-- approved by another).
CREATE TABLE supply_agreements (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    version BIGINT NOT NULL CHECK (version >= 1),
    body TEXT NOT NULL,
    sales_mode TEXT NOT NULL CHECK (sales_mode IN ('discount', 'rebate')),
    commission_bp BIGINT NOT NULL CHECK (commission_bp BETWEEN 0 AND 10000),
    period TEXT NOT NULL CHECK (period IN ('monthly', 'quarterly')),
    entered_by BIGINT NOT NULL REFERENCES users(id),
    entered_ms BIGINT NOT NULL,
    accepted_by BIGINT REFERENCES users(id),
    accepted_ms BIGINT,
    UNIQUE (org_id, version)
);
CREATE TABLE supplier_statements (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    period TEXT NOT NULL,
    seq BIGINT NOT NULL CHECK (seq >= 1),
    period_start_ms BIGINT NOT NULL,
    period_end_ms BIGINT NOT NULL,
    agreement_id BIGINT NOT NULL REFERENCES supply_agreements(id),
    commission_bp BIGINT NOT NULL,
    gross_fen BIGINT NOT NULL CHECK (gross_fen > 0),
    commission_fen BIGINT NOT NULL CHECK (commission_fen >= 0),
    net_fen BIGINT NOT NULL CHECK (net_fen >= 0),
    checkins BIGINT NOT NULL,
    journal_tx_id BIGINT NOT NULL REFERENCES journal_tx(id),
    run_by BIGINT NOT NULL REFERENCES users(id),
    run_ms BIGINT NOT NULL,
    CHECK (gross_fen = commission_fen + net_fen),
    UNIQUE (org_id, period, seq)
);
CREATE TABLE supplier_settled_checkins (
    serial TEXT NOT NULL,
    n BIGINT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    statement_id BIGINT NOT NULL REFERENCES supplier_statements(id),
    end_ms BIGINT NOT NULL,
    cost_fen BIGINT NOT NULL CHECK (cost_fen >= 0),
    PRIMARY KEY (serial, n)
);
CREATE INDEX supplier_settled_by_org ON supplier_settled_checkins(org_id, serial);
CREATE TABLE supplier_payouts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    requested_by BIGINT NOT NULL REFERENCES users(id),
    requested_ms BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'checked', 'approved', 'rejected')),
    checked_by BIGINT REFERENCES users(id),
    checked_ms BIGINT,
    decided_by BIGINT REFERENCES users(id),
    decided_ms BIGINT,
    reason TEXT,
    journal_tx_id BIGINT REFERENCES journal_tx(id),
    CHECK (checked_by IS NULL OR checked_by <> requested_by),
    CHECK (status <> 'approved' OR (checked_by IS NOT NULL AND decided_by <> requested_by
        AND decided_by <> checked_by))
);
CREATE INDEX supplier_payouts_by_org ON supplier_payouts(org_id, id);
