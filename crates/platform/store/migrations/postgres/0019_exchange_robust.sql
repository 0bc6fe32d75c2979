-- The exchange worker's robustness (issue 18, docs/exchange.md §1 and §3):
-- 1. trades a member placed on the chain past the platform, paid from its organisation's
--    wallet, are imported with source 'chain';
-- 2. a mirror instruction the chain definitely refused is marked failed (its code, message
--    and time) instead of blocking the outbox; a failed instruction is no longer pending.
ALTER TABLE trade_orders DROP CONSTRAINT trade_orders_source_check;
ALTER TABLE trade_orders ADD CONSTRAINT trade_orders_source_check
    CHECK (source IN ('web', 'presigned', 'chain'));
ALTER TABLE mirror_outbox ADD COLUMN failed_code TEXT;
ALTER TABLE mirror_outbox ADD COLUMN failed_message TEXT;
ALTER TABLE mirror_outbox ADD COLUMN failed_ms BIGINT;
