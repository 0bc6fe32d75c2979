//! Translations of the supplier console: key, Chinese, English.

/// Strings of the supplier console's shell.
pub const SUPPLIER_TEXTS: &[(&str, &str, &str)] = &[
    ("nav.supplier", "供应商控制台", "Supplier console"),
    ("supplier.console", "供应商控制台", "Supplier console"),
    ("supplier.overview", "概览", "Overview"),
];
