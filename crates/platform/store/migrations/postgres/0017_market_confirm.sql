-- Standing demands confirmed into orders and the operator's batch allocations (issue 17,
-- docs/market.md "Confirming a match" and "Batch allocation"): the new status
-- `confirmed`, the trade a demand was confirmed into, and who proposed the match
-- (NULL: the continuous engine; else the batch allocation's id), and whether the demand
-- waits for the operator's batch allocation instead of the continuous engine.
ALTER TABLE market_demands DROP CONSTRAINT market_demands_status_check;
ALTER TABLE market_demands ADD CONSTRAINT market_demands_status_check
    CHECK (status IN ('open', 'matched', 'confirmed', 'cancelled', 'expired'));
ALTER TABLE market_demands ADD COLUMN matched_by BIGINT;
ALTER TABLE market_demands ADD COLUMN trade_serial TEXT;
ALTER TABLE market_demands ADD COLUMN confirmed_ms BIGINT;
ALTER TABLE market_demands ADD COLUMN batch BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX market_demands_trade ON market_demands(trade_serial) WHERE trade_serial IS NOT NULL;

-- A batch allocation run by the operator: both schedulers' proposals and their
-- comparison (JSON, docs/market.md), proposed until the operator confirms one method.
CREATE TABLE market_allocations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_ms BIGINT NOT NULL,
    report_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'confirmed')),
    method TEXT,
    confirmed_ms BIGINT,
    confirmed_count BIGINT
);
