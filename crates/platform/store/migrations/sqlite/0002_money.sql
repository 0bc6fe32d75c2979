-- Money: catalogue, double-entry journal, accounts, payments, orders, instances, bills.
-- Amounts are INTEGER fen, never floating point. Journal rows are append-only (triggers).
CREATE TABLE categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);

CREATE TABLE products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    category_id INTEGER NOT NULL REFERENCES categories(id),
    name TEXT NOT NULL,
    supplier_org_id INTEGER NOT NULL REFERENCES orgs(id),
    region TEXT NOT NULL,
    manual_provisioning BOOLEAN NOT NULL,
    supplier_share_bp INTEGER NOT NULL CHECK (supplier_share_bp BETWEEN 0 AND 10000),
    published BOOLEAN NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);

CREATE TABLE specs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id INTEGER NOT NULL REFERENCES products(id),
    family TEXT NOT NULL,
    name TEXT NOT NULL,
    pricing TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX specs_product ON specs(product_id, id);

CREATE TABLE discounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL,
    off_bp INTEGER NOT NULL CHECK (off_bp BETWEEN 0 AND 10000),
    active BOOLEAN NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE coupons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    org_id INTEGER REFERENCES orgs(id),
    value TEXT NOT NULL,
    min_spend_fen INTEGER NOT NULL CHECK (min_spend_fen >= 0),
    expires_ms INTEGER NOT NULL,
    used_order_id INTEGER,
    created_ms INTEGER NOT NULL
);

CREATE TABLE credit_lines (
    org_id INTEGER PRIMARY KEY REFERENCES orgs(id),
    limit_fen INTEGER NOT NULL CHECK (limit_fen >= 0),
    set_by INTEGER NOT NULL,
    set_ms INTEGER NOT NULL
);

CREATE TABLE journal_tx (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key TEXT NOT NULL UNIQUE,
    body_digest TEXT NOT NULL,
    kind TEXT NOT NULL,
    org_id INTEGER,
    instance_id INTEGER,
    channel TEXT NOT NULL,
    memo TEXT NOT NULL,
    total_fen INTEGER NOT NULL CHECK (total_fen > 0),
    at_ms INTEGER NOT NULL
);
CREATE INDEX journal_tx_org ON journal_tx(org_id, id);

CREATE TABLE journal_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_id INTEGER NOT NULL REFERENCES journal_tx(id),
    account TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('debit', 'credit')),
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    balance_after INTEGER
);
CREATE INDEX journal_lines_tx ON journal_lines(tx_id);
CREATE INDEX journal_lines_account ON journal_lines(account, id);

CREATE TRIGGER journal_tx_no_update BEFORE UPDATE ON journal_tx
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER journal_tx_no_delete BEFORE DELETE ON journal_tx
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER journal_lines_no_update BEFORE UPDATE ON journal_lines
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER journal_lines_no_delete BEFORE DELETE ON journal_lines
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
-- A side's lines never exceed the transaction's total; the store checks after the last
-- line, in the same SQL transaction, that both sides reach it exactly.
CREATE TRIGGER journal_lines_within_total BEFORE INSERT ON journal_lines
WHEN (SELECT COALESCE(SUM(amount_fen), 0) FROM journal_lines
      WHERE tx_id = NEW.tx_id AND side = NEW.side) + NEW.amount_fen
     > (SELECT total_fen FROM journal_tx WHERE id = NEW.tx_id)
BEGIN SELECT RAISE(ABORT, 'journal lines exceed the transaction total'); END;

-- Projection of customer account balances, maintained in the same SQL transaction as
-- the journal lines (checked against the journal by check_projection).
CREATE TABLE account_balances (
    account TEXT PRIMARY KEY,
    balance INTEGER NOT NULL
);

CREATE TABLE holds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    instance_id INTEGER NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
    posted_fen INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    closed_ms INTEGER
);

CREATE TABLE payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    provider TEXT NOT NULL,
    provider_ref TEXT NOT NULL UNIQUE,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    status TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    confirmed_ms INTEGER,
    journal_tx_id INTEGER
);

CREATE TABLE offline_transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    reference TEXT NOT NULL,
    entered_by INTEGER NOT NULL REFERENCES users(id),
    entered_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    decided_by INTEGER REFERENCES users(id),
    decided_ms INTEGER,
    journal_tx_id INTEGER,
    CHECK (decided_by IS NULL OR decided_by <> entered_by)
);

CREATE TABLE instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    spec_id INTEGER NOT NULL REFERENCES specs(id),
    supplier_org_id INTEGER NOT NULL REFERENCES orgs(id),
    mode TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    status TEXT NOT NULL,
    pricing TEXT NOT NULL,
    supplier_share_bp INTEGER NOT NULL,
    anchor_ms INTEGER NOT NULL,
    months_total INTEGER NOT NULL,
    span_start_ms INTEGER NOT NULL,
    ends_ms INTEGER,
    paid_cash_fen INTEGER NOT NULL,
    paid_voucher_fen INTEGER NOT NULL,
    paid_credit_fen INTEGER NOT NULL,
    paid_supplier_fen INTEGER NOT NULL,
    paid_operator_fen INTEGER NOT NULL,
    reminders_sent INTEGER NOT NULL,
    metered_ms INTEGER NOT NULL,
    usage_minutes INTEGER NOT NULL,
    usage_charged_fen INTEGER NOT NULL,
    usage_unpaid_fen INTEGER NOT NULL,
    hold_id INTEGER,
    resource_id TEXT,
    access_address TEXT,
    opened_ms INTEGER,
    accepted_by INTEGER,
    created_ms INTEGER NOT NULL,
    released_ms INTEGER
);
CREATE INDEX instances_org ON instances(org_id, id);
CREATE INDEX instances_status ON instances(status, id);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES orgs(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    instance_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    spec_id INTEGER NOT NULL,
    mode TEXT NOT NULL,
    months INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    breakdown TEXT NOT NULL,
    charged_fen INTEGER NOT NULL,
    refunded_fen INTEGER NOT NULL,
    discount_fen INTEGER NOT NULL,
    deposit_fen INTEGER NOT NULL,
    cash_fen INTEGER NOT NULL,
    voucher_fen INTEGER NOT NULL,
    credit_fen INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX orders_org ON orders(org_id, id);

CREATE TABLE bill_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL,
    user_id INTEGER,
    product_id INTEGER NOT NULL,
    instance_id INTEGER NOT NULL,
    mode TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    discount_fen INTEGER NOT NULL,
    unpaid_fen INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX bill_items_at ON bill_items(at_ms, org_id);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL,
    instance_id INTEGER,
    body TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX messages_org ON messages(org_id, id);

CREATE TABLE op_idem (
    key TEXT PRIMARY KEY,
    body_digest TEXT NOT NULL,
    result_id INTEGER NOT NULL
);

-- Settlement-credit mirror: mints (money in) and burns (money out) owed to the chain,
-- written in the same SQL transaction as the journal entry they mirror.
CREATE TABLE mirror_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    journal_tx_id INTEGER NOT NULL,
    org_id INTEGER NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('mint', 'burn')),
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    created_ms INTEGER NOT NULL,
    sent_ref TEXT,
    sent_ms INTEGER
);
