-- The consumer-side channel controller's notices about trades (issue 18, billing,
-- docs/exchange.md §7): each low-funds pause or resume the platform relayed to the
-- customer, stored with the message it left for the organisation (same transaction).
CREATE TABLE trade_channel_notices (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial TEXT NOT NULL REFERENCES trade_orders(serial),
    org_id BIGINT NOT NULL REFERENCES orgs(id),
    paused BIGINT NOT NULL CHECK (paused IN (0, 1)),
    remaining_fen BIGINT NOT NULL,
    margin_fen BIGINT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX trade_channel_notices_by_serial ON trade_channel_notices(serial, id);
CREATE INDEX trade_orders_by_supplier ON trade_orders(supplier_org_id, created_ms);
