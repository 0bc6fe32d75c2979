-- Suppliers (docs/supply.md §1): one row per supplier organisation that applied on
-- /register or was enrolled by the operator. A supplier registration is a registration of
-- kind 'supplier' whose organisation has kind supplier_resource or supplier_api.
CREATE TABLE suppliers (
    org_id BIGINT PRIMARY KEY REFERENCES orgs(id),
    -- The registration it applied with (NULL: created by the operator).
    registration_id BIGINT UNIQUE REFERENCES registrations(id),
    -- The qualification credential as presented (W3C VC, compact JSON), its issuer's DID
    -- and its credentialSchema.id (the CPT URN). NULL until one is presented.
    qualification TEXT,
    qualification_issuer TEXT,
    qualification_schema TEXT,
    -- The identity chain's verification report (JSON) when the operator approved, and when.
    qualification_report TEXT,
    qualification_verified_ms BIGINT,
    -- A supplier the operator created: the real-name data the operator recorded with its
    -- qualification credential (a registered supplier's are on its registration).
    company_name TEXT,
    credit_code TEXT,
    legal_person TEXT,
    phone TEXT,
    -- The supplier DID: its administrator's DID at enrolment, enrolled on the trade chain
    -- in role supplier; that administrator; the kyc-supplier credential (JSON) and its id.
    did TEXT UNIQUE,
    admin_user BIGINT REFERENCES users(id),
    kyc_credential_ref TEXT,
    kyc_credential TEXT,
    enrolled_ms BIGINT
);
