//! Bitstring Status List v1.0 helpers (filled in below).
