-- PostgreSQL dialect of migrations/sqlite/0002_money.sql (keep the two in step).
-- Money: catalogue, double-entry journal, accounts, payments, orders, instances, bills.
-- Amounts are BIGINT fen, never floating point. Journal rows are append-only (triggers).
CREATE TABLE categories (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL
);

CREATE TABLE products (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id BIGINT NOT NULL REFERENCES categories(id),
    name TEXT NOT NULL,
    supplier_org_id BIGINT NOT NULL REFERENCES orgs(id),
    region TEXT NOT NULL,
    manual_provisioning BOOLEAN NOT NULL,
    supplier_share_bp BIGINT NOT NULL CHECK (supplier_share_bp BETWEEN 0 AND 10000),
    published BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms BIGINT NOT NULL
);

CREATE TABLE specs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id BIGINT NOT NULL REFERENCES products(id),
    family TEXT NOT NULL,
    name TEXT NOT NULL,
    pricing TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX specs_product ON specs(product_id, id);

CREATE TABLE discounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule TEXT NOT NULL,
    off_bp BIGINT NOT NULL CHECK (off_bp BETWEEN 0 AND 10000),
    active BOOLEAN NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE coupons (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    org_id BIGINT REFERENCES orgs(id),
    value TEXT NOT NULL,
    min_spend_fen BIGINT NOT NULL CHECK (min_spend_fen >= 0),
    expires_ms BIGINT NOT NULL,
    used_order_id BIGINT,
    created_ms BIGINT NOT NULL
);

CREATE TABLE credit_lines (
    org_id BIGINT PRIMARY KEY REFERENCES orgs(id),
    limit_fen BIGINT NOT NULL CHECK (limit_fen >= 0),
    set_by BIGINT NOT NULL,
    set_ms BIGINT NOT NULL
);

CREATE TABLE journal_tx (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idem_key TEXT NOT NULL UNIQUE,
    body_digest TEXT NOT NULL,
    kind TEXT NOT NULL,
    org_id BIGINT,
    instance_id BIGINT,
    channel TEXT NOT NULL,
    memo TEXT NOT NULL,
    total_fen BIGINT NOT NULL CHECK (total_fen > 0),
    at_ms BIGINT NOT NULL
);
CREATE INDEX journal_tx_org ON journal_tx(org_id, id);

CREATE TABLE journal_lines (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id BIGINT NOT NULL REFERENCES journal_tx(id),
    account TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('debit', 'credit')),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    balance_after BIGINT
);
CREATE INDEX journal_lines_tx ON journal_lines(tx_id);
CREATE INDEX journal_lines_account ON journal_lines(account, id);

CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal is append-only';
END;
$$;
CREATE TRIGGER journal_tx_no_change BEFORE UPDATE OR DELETE ON journal_tx
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_lines_no_change BEFORE UPDATE OR DELETE ON journal_lines
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
-- A side's lines never exceed the transaction's total, and at commit both sides reach it
-- exactly (deferred constraint trigger).
CREATE FUNCTION journal_lines_within_total() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COALESCE(SUM(amount_fen), 0) FROM journal_lines
        WHERE tx_id = NEW.tx_id AND side = NEW.side)
       > (SELECT total_fen FROM journal_tx WHERE id = NEW.tx_id) THEN
        RAISE EXCEPTION 'journal lines exceed the transaction total';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER journal_lines_within_total AFTER INSERT ON journal_lines
FOR EACH ROW EXECUTE FUNCTION journal_lines_within_total();
CREATE FUNCTION journal_tx_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d BIGINT;
    c BIGINT;
    t BIGINT;
BEGIN
    SELECT COALESCE(SUM(CASE WHEN side = 'debit' THEN amount_fen ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN side = 'credit' THEN amount_fen ELSE 0 END), 0)
      INTO d, c FROM journal_lines WHERE tx_id = NEW.tx_id;
    SELECT total_fen INTO t FROM journal_tx WHERE id = NEW.tx_id;
    IF d <> c OR d <> t THEN
        RAISE EXCEPTION 'journal transaction % is unbalanced', NEW.tx_id;
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER journal_tx_balanced AFTER INSERT ON journal_lines
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_tx_balanced();

-- Projection of customer account balances, maintained in the same SQL transaction as
-- the journal lines (checked against the journal by check_projection).
CREATE TABLE account_balances (
    account TEXT PRIMARY KEY,
    balance BIGINT NOT NULL
);

CREATE TABLE holds (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    instance_id BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    posted_fen BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    closed_ms BIGINT
);

CREATE TABLE payments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    provider TEXT NOT NULL,
    provider_ref TEXT NOT NULL UNIQUE,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    confirmed_ms BIGINT,
    journal_tx_id BIGINT
);

CREATE TABLE offline_transfers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    reference TEXT NOT NULL,
    entered_by BIGINT NOT NULL REFERENCES users(id),
    entered_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    decided_by BIGINT REFERENCES users(id),
    decided_ms BIGINT,
    journal_tx_id BIGINT,
    CHECK (decided_by IS NULL OR decided_by <> entered_by)
);

CREATE TABLE instances (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    spec_id BIGINT NOT NULL REFERENCES specs(id),
    supplier_org_id BIGINT NOT NULL REFERENCES orgs(id),
    mode TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    status TEXT NOT NULL,
    pricing TEXT NOT NULL,
    supplier_share_bp BIGINT NOT NULL,
    anchor_ms BIGINT NOT NULL,
    months_total BIGINT NOT NULL,
    span_start_ms BIGINT NOT NULL,
    ends_ms BIGINT,
    paid_cash_fen BIGINT NOT NULL,
    paid_voucher_fen BIGINT NOT NULL,
    paid_credit_fen BIGINT NOT NULL,
    paid_supplier_fen BIGINT NOT NULL,
    paid_operator_fen BIGINT NOT NULL,
    reminders_sent BIGINT NOT NULL,
    metered_ms BIGINT NOT NULL,
    usage_minutes BIGINT NOT NULL,
    usage_charged_fen BIGINT NOT NULL,
    usage_unpaid_fen BIGINT NOT NULL,
    hold_id BIGINT,
    resource_id TEXT,
    access_address TEXT,
    opened_ms BIGINT,
    accepted_by BIGINT,
    created_ms BIGINT NOT NULL,
    released_ms BIGINT
);
CREATE INDEX instances_org ON instances(org_id, id);
CREATE INDEX instances_status ON instances(status, id);

CREATE TABLE orders (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    instance_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    spec_id BIGINT NOT NULL,
    mode TEXT NOT NULL,
    months BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    breakdown TEXT NOT NULL,
    charged_fen BIGINT NOT NULL,
    refunded_fen BIGINT NOT NULL,
    discount_fen BIGINT NOT NULL,
    deposit_fen BIGINT NOT NULL,
    cash_fen BIGINT NOT NULL,
    voucher_fen BIGINT NOT NULL,
    credit_fen BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX orders_org ON orders(org_id, id);

CREATE TABLE bill_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL,
    user_id BIGINT,
    product_id BIGINT NOT NULL,
    instance_id BIGINT NOT NULL,
    mode TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    discount_fen BIGINT NOT NULL,
    unpaid_fen BIGINT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX bill_items_at ON bill_items(at_ms, org_id);

CREATE TABLE messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id BIGINT NOT NULL,
    instance_id BIGINT,
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX messages_org ON messages(org_id, id);

CREATE TABLE op_idem (
    key TEXT PRIMARY KEY,
    body_digest TEXT NOT NULL,
    result_id BIGINT NOT NULL
);

-- Settlement-credit mirror: mints (money in) and burns (money out) owed to the chain,
-- written in the same SQL transaction as the journal entry they mirror.
CREATE TABLE mirror_outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    journal_tx_id BIGINT NOT NULL,
    org_id BIGINT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('mint', 'burn')),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    created_ms BIGINT NOT NULL,
    sent_ref TEXT,
    sent_ms BIGINT
);
