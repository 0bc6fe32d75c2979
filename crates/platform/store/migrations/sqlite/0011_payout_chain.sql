-- Issue 16 (docs/supply.md §4, Payouts): a payout's credit transactions on the trade chain,
-- each stored signed before it is sent: the transfer from the supplier's key to custody
-- (at the request), then the burn (approval) or the return (rejection). `*_sent_ms` is set
-- once the chain applied it. Payouts requested before this migration have none.
ALTER TABLE supplier_payouts ADD COLUMN transfer_ref TEXT;
ALTER TABLE supplier_payouts ADD COLUMN transfer_tx TEXT;
ALTER TABLE supplier_payouts ADD COLUMN transfer_sent_ms INTEGER;
ALTER TABLE supplier_payouts ADD COLUMN settle_ref TEXT;
ALTER TABLE supplier_payouts ADD COLUMN settle_tx TEXT;
ALTER TABLE supplier_payouts ADD COLUMN settle_sent_ms INTEGER;
