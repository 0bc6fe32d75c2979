-- The signed chain transaction of a mirror instruction, stored before it is submitted, so
-- a retry resubmits the same transaction (one nonce: applied at most once) instead of
-- signing a second one.
ALTER TABLE mirror_outbox ADD COLUMN signed_ref TEXT;
ALTER TABLE mirror_outbox ADD COLUMN signed_tx TEXT;
