-- A supplier's claims on its credit code and its qualification credential (issue 16,
-- docs/supply.md §1): one supplier per credit code and per credential among pending and
-- approved registrations and operator-created suppliers. Set when the registration is
-- submitted (or the operator records the qualification); cleared when it is rejected.
ALTER TABLE suppliers ADD COLUMN claimed_credit_code TEXT;
-- SHA-256 (hex) of the qualification credential as stored (compact JSON, sorted keys).
ALTER TABLE suppliers ADD COLUMN qualification_sha256 TEXT;
UPDATE suppliers SET claimed_credit_code = credit_code WHERE registration_id IS NULL;
UPDATE suppliers SET claimed_credit_code = (
    SELECT r.credit_code FROM registrations r
    WHERE r.id = suppliers.registration_id AND r.status IN ('pending', 'approved'))
WHERE registration_id IS NOT NULL;
CREATE UNIQUE INDEX suppliers_claimed_credit_code ON suppliers (claimed_credit_code);
CREATE UNIQUE INDEX suppliers_qualification_sha256 ON suppliers (qualification_sha256);
