//! Translations of the supplier console and of supplier onboarding (issue 16): key,
//! Chinese, English.

/// Strings of the supplier console's shell and of onboarding.
pub const SUPPLIER_TEXTS: &[(&str, &str, &str)] = &[
    ("nav.supplier", "供应商控制台", "Supplier console"),
    ("supplier.console", "供应商控制台", "Supplier console"),
    ("supplier.overview", "概览", "Overview"),
    // The overview.
    (
        "supplier.no_did",
        "尚无（审核通过后登记）",
        "None yet (recorded at approval)",
    ),
    (
        "supplier.enrolled_on_chain",
        "已在交易链登记为供给方",
        "Enrolled on the trade chain as supplier",
    ),
    (
        "supplier.chain_unavailable",
        "交易链暂不可读",
        "The trade chain cannot be read now",
    ),
    (
        "supplier.enrolment_pending",
        "等待登记",
        "Enrolment pending",
    ),
    (
        "supplier.kyc_credential",
        "供给方实名凭证",
        "Supplier KYC credential",
    ),
    ("supplier.areas", "其他功能", "Other areas"),
    // Registration.
    (
        "register.supplier",
        "供应商（企业）",
        "Supplier (organisation)",
    ),
    ("register.supplier_type", "供应商类型", "Supplier type"),
    (
        "register.supplier_type.hint",
        "资源供应商：平台管理并调度您的设备；产品供应商：您运营自己的资源并通过 API 接入。",
        "Resource supplier: the platform manages and schedules your devices. Product supplier: you run your own resources and connect by API.",
    ),
    ("register.contact_phone", "联系电话", "Contact phone"),
    (
        "register.qualification",
        "资质凭证",
        "Qualification credential",
    ),
    (
        "register.qualification.hint",
        "粘贴认证机构（权威机构或已准入的发证方）签发的资质凭证 JSON（W3C 可验证凭证，如数据中心经营许可、等保认证），其主体的 unifiedSocialCreditCode 须为贵公司的统一社会信用代码；最大 16 KiB。审核时经身份链验证。",
        "Paste the qualification credential's JSON (a W3C verifiable credential, e.g. a data-centre licence or a security-level certification) issued by the authority or an admitted issuer; its subject's unifiedSocialCreditCode must be your company's code; at most 16 KiB. It is verified through the identity chain at review.",
    ),
    // Errors.
    (
        "err.qualification_json",
        "资质凭证不是有效的 JSON。",
        "The qualification credential is not valid JSON.",
    ),
    (
        "err.qualification_malformed",
        "资质凭证格式不符：须为带签名、发证方（did:suanli）和 CPT 的 W3C 凭证，主体不带 id。",
        "The qualification credential is not a signed W3C credential with a did:suanli issuer, a CPT and a subject without id.",
    ),
    (
        "err.qualification_too_large",
        "资质凭证超过 16 KiB。",
        "The qualification credential is larger than 16 KiB.",
    ),
    (
        "err.qualification_subject_mismatch",
        "资质凭证的主体不是贵公司（统一社会信用代码不符）。",
        "The qualification credential is not about your company (its unified social credit code differs).",
    ),
    (
        "err.qualification_not_verified",
        "资质凭证未通过身份链验证，不能审核通过。",
        "The qualification credential does not verify on the identity chain; it cannot be approved.",
    ),
    (
        "err.qualification_unavailable",
        "暂时无法通过身份链验证资质凭证。",
        "The qualification credential cannot be verified through the identity chain now.",
    ),
    (
        "err.supplier_not_qualified",
        "该供应商尚无经验证的实名资料和资质凭证。",
        "This supplier has no verified real-name data and qualification credential.",
    ),
    (
        "err.supplier_no_did",
        "供应商管理员尚无身份链上的 DID。",
        "The supplier's administrator has no DID on the identity chain yet.",
    ),
    (
        "err.enrolment_unavailable",
        "平台未连接带实名授权密钥的账本。",
        "No ledger with the KYC authority's key is attached.",
    ),
    (
        "err.enrolment_failed",
        "交易链登记失败，请稍后重试。",
        "Enrolment on the trade chain failed; retry later.",
    ),
    (
        "err.not_approved",
        "仅已审核通过的可登记。",
        "Only an approved registration is enrolled.",
    ),
    // Qualification review.
    ("qual.review", "审核资质", "Review qualification"),
    ("qual.review.title", "供应商审核", "Supplier review"),
    ("qual.issuer", "发证方", "Issuer"),
    ("qual.cpt", "资质模板 (CPT)", "Qualification template (CPT)"),
    ("qual.state", "资质", "Qualification"),
    ("qual.verified", "已验证", "Verified"),
    ("qual.not_verified", "未通过验证", "Does not verify"),
    ("qual.pending", "待审核", "Awaiting review"),
    ("qual.none", "无", "None"),
    ("qual.credential", "凭证原文", "The credential"),
    ("qual.check", "检查项", "Check"),
    ("qual.outcome", "结果", "Outcome"),
    ("qual.detail", "说明", "Detail"),
    ("qual.check.proof", "签名", "Signature"),
    (
        "qual.check.issuer_key",
        "发证方签发时的密钥",
        "Issuer's key at issuance",
    ),
    ("qual.check.cpt", "资质模板", "Qualification template"),
    (
        "qual.check.schema",
        "声明符合模板且发证方已准入",
        "Claims fit the template, issuer admitted",
    ),
    ("qual.check.validity_period", "有效期", "Validity period"),
    ("qual.check.status", "未被撤销", "Not revoked"),
    (
        "qual.check.subject",
        "声明的信用代码一致",
        "Declared credit code matches",
    ),
    (
        "qual.same_code.title",
        "相同信用代码的其他申请",
        "Other applications with this credit code",
    ),
    ("qual.same_code.none", "没有", "None"),
    (
        "err.credit_code_in_use",
        "另一家供应商已以此统一社会信用代码申请或登记。",
        "Another supplier applied or was recorded with this credit code.",
    ),
    (
        "err.qualification_in_use",
        "此资质凭证已被另一家供应商提交。",
        "This qualification credential was presented by another supplier.",
    ),
    ("qual.outcome.passed", "通过", "Passed"),
    ("qual.outcome.failed", "未通过", "Failed"),
    ("qual.outcome.skipped", "未执行", "Skipped"),
    // The operator's supplier list.
    ("sup.did", "供应商 DID", "Supplier DID"),
    ("sup.enrolment", "交易链登记", "Trade-chain enrolment"),
    ("sup.enrolled", "已登记", "Enrolled"),
    ("sup.not_enrolled", "未登记", "Not enrolled"),
    ("sup.enrol", "登记", "Enrol"),
    (
        "sup.qualify",
        "录入实名资料与资质",
        "Record real-name data and qualification",
    ),
    (
        "sup.qualified_notice",
        "已记录供应商 #{} 的资质（其管理员有 DID 时即登记）。",
        "Recorded supplier #{}'s qualification (enrolled once its administrator has a DID).",
    ),
    (
        "sup.enrolled_notice",
        "供应商 #{} 已在交易链登记。",
        "Supplier #{} is enrolled on the trade chain.",
    ),
];
