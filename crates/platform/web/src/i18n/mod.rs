//! Languages and locale formatting: a compile-time key → (Chinese, English) table,
//! money (integer fen shown as yuan), numbers and dates (China Standard Time, the
//! platform's business time zone).
//!
//! A key missing from the table renders as `⟦key⟧` so that a test can find it on any page.

use suanli_platform_domain::money::{CST_OFFSET_MS, DAY_MS, civil_from_days};

/// A display language. Chinese is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文 (default).
    #[default]
    Zh,
    /// English.
    En,
}

/// Name of the cookie remembering the language.
pub const LANG_COOKIE: &str = "suanli_lang";

impl Lang {
    /// Parses `zh` / `en`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The code (`zh`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch).
    pub fn other(self) -> Self {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Translates a key.
    pub fn t(self, key: &str) -> String {
        match lookup(key) {
            Some((zh, en)) => match self {
                Lang::Zh => zh.to_owned(),
                Lang::En => en.to_owned(),
            },
            None => format!("⟦{key}⟧"),
        }
    }

    /// Translates a key and replaces `{}` placeholders in order.
    pub fn tf(self, key: &str, args: &[&str]) -> String {
        let mut out = self.t(key);
        for a in args {
            if let Some(i) = out.find("{}") {
                out.replace_range(i..i + 2, a);
            }
        }
        out
    }

    /// Money in fen shown as yuan: `¥1,234.56` (negative: `-¥1.00`).
    pub fn money(self, fen: i64) -> String {
        let neg = fen < 0;
        let abs = i128::from(fen).unsigned_abs();
        let yuan = abs / 100;
        let cents = abs % 100;
        format!(
            "{}¥{}.{cents:02}",
            if neg { "-" } else { "" },
            group(&yuan.to_string())
        )
    }

    /// An integer with thousands separators.
    pub fn number(self, n: i64) -> String {
        let s = group(&n.unsigned_abs().to_string());
        if n < 0 { format!("-{s}") } else { s }
    }

    /// A date and time (CST).
    pub fn datetime(self, ms: i64) -> String {
        let (y, m, d, hh, mm) = cst_parts(ms);
        match self {
            Lang::Zh => format!("{y}年{m}月{d}日 {hh:02}:{mm:02}"),
            Lang::En => format!(
                "{d} {} {y}, {hh:02}:{mm:02}",
                MONTHS_EN[(m as usize + 11) % 12]
            ),
        }
    }

    /// A date (CST).
    pub fn date(self, ms: i64) -> String {
        let (y, m, d, _, _) = cst_parts(ms);
        match self {
            Lang::Zh => format!("{y}年{m}月{d}日"),
            Lang::En => format!("{d} {} {y}", MONTHS_EN[(m as usize + 11) % 12]),
        }
    }

    /// A short day label for charts (`11-22` / `22 Nov`).
    pub fn day_short(self, ms: i64) -> String {
        let (_, m, d, _, _) = cst_parts(ms);
        match self {
            Lang::Zh => format!("{m}/{d}"),
            Lang::En => format!("{d} {}", MONTHS_EN[(m as usize + 11) % 12]),
        }
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn cst_parts(ms: i64) -> (i64, u32, u32, i64, i64) {
    let local = ms + CST_OFFSET_MS;
    let days = local.div_euclid(DAY_MS);
    let rest = local.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, rest / 3_600_000, (rest / 60_000) % 60)
}

fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Parses a yuan amount typed by a user (`12`, `12.5`, `1,234.56`) into fen. `None` when it
/// is not a non-negative amount with at most two decimals.
pub fn parse_yuan(s: &str) -> Option<i64> {
    let s: String = s
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '¥')
        .collect();
    if s.is_empty() {
        return None;
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s.as_str(), ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || int.len() > 12
    {
        return None;
    }
    let yuan: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    yuan.checked_mul(100)?.checked_add(cents)
}

fn lookup(key: &str) -> Option<(&'static str, &'static str)> {
    TEXTS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| (*zh, *en))
}

/// Every translated string: key, Chinese, English.
pub const TEXTS: &[(&str, &str, &str)] = &[
    // --- shell
    (
        "site.tagline",
        "算力交易与运营平台",
        "Computing-power exchange",
    ),
    ("nav.portal", "算力市场", "Marketplace"),
    ("nav.console", "用户控制台", "User console"),
    ("nav.ops", "运营控制台", "Operations console"),
    ("nav.system", "系统控制台", "System console"),
    ("nav.login", "登录", "Log in"),
    ("nav.register", "注册", "Register"),
    ("nav.logout", "退出", "Log out"),
    ("nav.lang", "English", "中文"),
    ("nav.skip", "跳到正文", "Skip to content"),
    ("nav.menu", "菜单", "Menu"),
    ("footer.api", "API 文档", "API document"),
    // --- errors
    ("error.403.title", "无权访问", "Access denied"),
    (
        "error.403.body",
        "您的账号没有访问此页面的权限。如需开通，请联系您所在组织的管理员。",
        "Your account does not have the permission this page needs. Ask an administrator of your organisation to grant it.",
    ),
    ("error.404.title", "页面不存在", "Page not found"),
    (
        "error.404.body",
        "您要找的页面或对象不存在，或不在您的可见范围内。",
        "The page or object you asked for does not exist, or is not visible to you.",
    ),
    ("error.500.title", "服务暂时出错", "Something went wrong"),
    (
        "error.500.body",
        "服务器处理请求时出错，已记录日志。请稍后重试。",
        "The server failed to handle the request; the fault is logged. Please try again later.",
    ),
    ("error.back", "返回首页", "Back to the home page"),
    (
        "error.form",
        "请修正下列标出的问题后重新提交。",
        "Please fix the fields marked below and submit again.",
    ),
    // --- field errors
    ("err.required", "此项必填。", "This field is required."),
    (
        "err.yuan",
        "请输入金额（元），最多两位小数，例如 100 或 99.50。",
        "Enter an amount in yuan with at most two decimals, e.g. 100 or 99.50.",
    ),
    (
        "err.positive",
        "请输入大于 0 的金额。",
        "Enter an amount greater than 0.",
    ),
    (
        "err.integer",
        "请输入正整数。",
        "Enter a whole number greater than 0.",
    ),
    (
        "err.range",
        "请输入 {} 到 {} 之间的整数。",
        "Enter a whole number from {} to {}.",
    ),
    (
        "err.bp",
        "请输入 0 到 100 之间的百分比，最多两位小数。",
        "Enter a percentage from 0 to 100 with at most two decimals.",
    ),
    ("err.choose", "请选择一项。", "Choose one."),
    (
        "err.invalid_field",
        "此项内容无效，请检查后重试。",
        "This value is not valid; check it and try again.",
    ),
    (
        "err.invalid_credentials",
        "账号或密码错误。",
        "Wrong login or password.",
    ),
    (
        "err.mfa_required",
        "此账号已开启两步验证，请输入验证器中的 6 位动态码。",
        "This account uses two-step verification: enter the 6-digit code from your authenticator.",
    ),
    (
        "err.mfa_invalid",
        "动态码错误或已过期。",
        "The code is wrong or has expired.",
    ),
    (
        "err.account_locked",
        "登录失败次数过多，账号已暂时锁定，请稍后再试。",
        "Too many failed logins: the account is locked for a while.",
    ),
    (
        "err.too_many_attempts",
        "尝试次数过多，请稍后再试。",
        "Too many attempts; please wait and try again.",
    ),
    (
        "err.account_disabled",
        "账号已停用。",
        "The account is disabled.",
    ),
    (
        "err.account_pending",
        "实名认证审核中，审核通过后即可登录。",
        "Your real-name verification is under review; you can log in once it is approved.",
    ),
    (
        "err.org_inactive",
        "所在组织未通过审核或已停用。",
        "Your organisation was not approved or is suspended.",
    ),
    (
        "err.login_taken",
        "该登录名已被使用。",
        "This login is taken.",
    ),
    (
        "err.password_policy",
        "密码不符合安全策略（长度或字符类型不足）。",
        "The password does not meet the policy (too short or not mixed enough).",
    ),
    (
        "err.password_reused",
        "不能使用最近用过的密码。",
        "You cannot reuse a recent password.",
    ),
    (
        "err.insufficient_balance",
        "余额不足，请先充值。",
        "Insufficient balance: recharge first.",
    ),
    (
        "err.rejected",
        "操作被业务规则拒绝。",
        "A business rule refused the operation.",
    ),
    (
        "err.forbidden",
        "您没有执行此操作的权限。",
        "You do not have the permission for this.",
    ),
    (
        "err.four_eyes",
        "需由另一位财务人员审批（不能审批自己录入的记录）。",
        "A second finance user must approve this (not the one who entered it).",
    ),
    (
        "err.csrf",
        "表单已过期，请刷新页面后重试。",
        "The form has expired: reload the page and try again.",
    ),
    (
        "err.conflict",
        "与现有数据冲突。",
        "This conflicts with existing data.",
    ),
    (
        "err.already_decided",
        "该申请已处理。",
        "This application was already decided.",
    ),
    (
        "err.not_found",
        "对象不存在或不可见。",
        "No such object, or not visible to you.",
    ),
    (
        "err.payments_unavailable",
        "未启用在线支付渠道（沙箱关闭）。请联系运营方线下充值。",
        "No payment provider is enabled (the sandbox is off); ask the operator for an offline recharge.",
    ),
    (
        "err.invalid_invite_code",
        "邀请码无效。",
        "Unknown invite code.",
    ),
    (
        "err.internal",
        "服务器出错，请稍后重试。",
        "Server error; please try again later.",
    ),
    (
        "err.password_mismatch",
        "两次输入的密码不一致。",
        "The passwords differ.",
    ),
    // --- portal
    ("portal.title", "算力产品目录", "Computing-power catalogue"),
    (
        "portal.lead",
        "按类别、GPU 型号、地域与价格筛选，比较规格与计费方式后下单。",
        "Filter by category, GPU model, region and price; compare specs and charging modes, then order.",
    ),
    ("filter.category", "类别", "Category"),
    ("filter.gpu", "GPU 型号 / 规格族", "GPU model / spec family"),
    ("filter.region", "地域", "Region"),
    (
        "filter.price_min",
        "最低月价（元）",
        "Monthly price from (yuan)",
    ),
    (
        "filter.price_max",
        "最高月价（元）",
        "Monthly price up to (yuan)",
    ),
    ("filter.any", "全部", "Any"),
    ("filter.apply", "筛选", "Filter"),
    ("filter.reset", "清除", "Reset"),
    (
        "filter.green_absent",
        "绿电占比筛选：产品目录尚未记录绿电占比，数据接入后开放。",
        "Green-energy share filter: the catalogue does not record green-energy shares yet; it opens once that data exists.",
    ),
    (
        "portal.none",
        "没有符合条件的产品。",
        "No product matches these filters.",
    ),
    ("portal.from", "起价", "From"),
    ("portal.per_month", "/月", "/month"),
    ("portal.per_minute", "/分钟", "/minute"),
    ("portal.details", "查看详情", "Details"),
    ("portal.supplier", "供应商", "Supplier"),
    ("product.specs", "规格与价格", "Specs and prices"),
    ("product.family", "规格族", "Family"),
    ("product.spec", "规格", "Spec"),
    ("product.prepaid", "包年包月", "Prepaid (monthly/yearly)"),
    ("product.payg", "按量付费", "Pay-as-you-go"),
    ("product.monthly", "月价", "Monthly"),
    ("product.yearly", "年价", "Yearly"),
    ("product.term_discounts", "长期折扣", "Term discounts"),
    (
        "product.term_discount_item",
        "满 {} 个月减 {}",
        "{} months or more: {} off",
    ),
    ("product.per_minute", "每分钟", "Per minute"),
    ("product.minimum", "最低消费", "Minimum charge"),
    ("product.deposit", "押金", "Deposit"),
    ("product.not_offered", "不提供", "Not offered"),
    ("product.order", "订购", "Order"),
    ("product.login_to_order", "登录后可订购", "Log in to order"),
    (
        "product.manual",
        "人工开通（运营方验收后交付）",
        "Provisioned by hand (delivered after operator acceptance)",
    ),
    ("product.auto", "自动开通", "Provisioned automatically"),
    ("product.unpublished", "未上架", "Unpublished"),
    ("product.published", "已上架", "Published"),
    ("supplier.title", "供应商", "Supplier"),
    ("supplier.products", "上架产品", "Published products"),
    (
        "supplier.reputation_absent",
        "交易链信誉：本平台尚未把订单写入交易链，暂无可展示的链上评分。",
        "Trade-chain reputation: this platform does not record its orders on the trade chain yet, so there is no on-chain rating to show.",
    ),
    // --- auth
    ("login.title", "登录", "Log in"),
    ("login.login", "登录名", "Login"),
    ("login.password", "密码", "Password"),
    (
        "login.totp",
        "动态验证码（两步验证）",
        "Authenticator code (two-step verification)",
    ),
    ("login.recovery", "或恢复码", "or a recovery code"),
    ("login.submit", "登录", "Log in"),
    ("login.no_account", "还没有账号？", "No account yet?"),
    ("register.title", "注册", "Register"),
    (
        "register.lead",
        "注册后需完成实名认证审核，审核通过即可使用。",
        "After registering, the operator reviews your real-name details; you can use the platform once approved.",
    ),
    ("register.kind", "账户类型", "Account type"),
    ("register.personal", "个人", "Personal"),
    ("register.enterprise", "企业", "Enterprise"),
    ("register.display_name", "显示名称", "Display name"),
    ("register.password2", "确认密码", "Confirm password"),
    ("register.name", "真实姓名", "Full legal name"),
    ("register.id_number", "身份证号", "Resident ID number"),
    ("register.phone", "手机号", "Mobile phone"),
    ("register.company", "企业名称", "Company name"),
    (
        "register.credit_code",
        "统一社会信用代码",
        "Unified social credit code",
    ),
    (
        "register.licence",
        "营业执照编号",
        "Business licence reference",
    ),
    (
        "register.legal_person",
        "法定代表人",
        "Legal representative",
    ),
    (
        "register.invite",
        "邀请码（可选）",
        "Invite code (optional)",
    ),
    ("register.submit", "提交注册", "Register"),
    (
        "register.done.title",
        "注册已提交",
        "Registration submitted",
    ),
    (
        "register.done.body",
        "实名信息已提交审核。审核通过后，请使用登录名 {} 登录。",
        "Your real-name details are under review. Once approved, log in as {}.",
    ),
    // --- console
    ("console.title", "用户控制台", "User console"),
    ("console.overview", "概览", "Overview"),
    ("console.account", "账户中心", "Account centre"),
    ("console.resources", "我的资源", "My resources"),
    ("console.orders", "我的订单", "My orders"),
    ("console.statements", "收支明细", "Statements"),
    ("console.bills", "账单", "Bills"),
    ("console.users", "子用户", "Sub-users"),
    ("console.tokens", "API 令牌", "API tokens"),
    (
        "console.messages",
        "消息与到期提醒",
        "Messages and expiry reminders",
    ),
    ("console.no_messages", "暂无消息。", "No messages."),
    ("console.realname", "实名认证", "Real-name verification"),
    ("console.realname.approved", "已通过", "Approved"),
    ("console.org", "所属组织", "Organisation"),
    ("console.welcome", "欢迎，{}", "Welcome, {}"),
    ("account.cash", "现金余额", "Cash"),
    ("account.credit", "信用额度", "Credit line"),
    ("account.credit_used", "已用信用", "Credit used"),
    ("account.credit_available", "可用信用", "Credit available"),
    ("account.frozen", "冻结金额", "Frozen"),
    ("account.voucher", "代金券", "Vouchers"),
    ("account.spendable", "可用总额", "Spendable"),
    ("account.recharge", "充值", "Recharge"),
    ("account.amount", "金额（元）", "Amount (yuan)"),
    ("account.recharge_submit", "充值", "Recharge"),
    (
        "account.sandbox",
        "沙箱支付：仅供测试与演示，不产生真实资金流动。",
        "SANDBOX payment: for tests and demos only, no real money moves.",
    ),
    ("account.recharged", "已充值 {}。", "Recharged {}."),
    ("account.keys", "DID 密钥", "DID keys"),
    (
        "account.key_none",
        "您还没有 DID 密钥：密码由他人设置的账户（管理员创建的用户、子用户）在首次自行修改密码时生成密钥。",
        "You have no DID key yet: accounts whose password someone else set (users created by an administrator, sub-users) get one at their first own password change.",
    ),
    (
        "account.key_signing",
        "您在链上所做的每一条记录都由您自己的 DID 密钥签名。",
        "Every record you make on the chain is signed with your own DID key.",
    ),
    ("account.key_did", "DID", "DID"),
    ("account.key_public", "公钥", "Public key"),
    ("account.key_state", "身份链", "Identity chain"),
    (
        "account.key_on_chain",
        "DID 已上链",
        "DID created on the chain",
    ),
    (
        "account.key_pending",
        "等待上链",
        "Waiting to be created on the chain",
    ),
    (
        "account.key_custody",
        "私钥以您的密码派生的密钥（argon2id）加密保存，平台不保存可直接使用的私钥。导出需再次输入密码。",
        "The private key is kept encrypted under a key derived from your password (argon2id); the platform keeps no usable copy. Exporting asks for your password again.",
    ),
    ("account.key_password", "当前密码", "Current password"),
    (
        "account.key_export",
        "导出私钥（PEM）",
        "Export the private key (PEM)",
    ),
    (
        "account.key_export_failed",
        "导出失败，请稍后再试。",
        "The export failed; try again later.",
    ),
    ("stmt.time", "时间", "Time"),
    ("stmt.type", "类型", "Type"),
    ("stmt.account", "账户", "Account"),
    ("stmt.amount", "金额", "Amount"),
    ("stmt.balance", "余额", "Balance after"),
    ("stmt.memo", "备注", "Memo"),
    ("stmt.type.recharge", "充值", "Recharge"),
    ("stmt.type.deduction", "扣款", "Deduction"),
    ("stmt.type.consumption", "消费", "Consumption"),
    ("stmt.type.refund", "退款", "Refund"),
    ("acct.cash", "现金", "Cash"),
    ("acct.voucher", "代金券", "Voucher"),
    ("acct.credit", "信用", "Credit"),
    ("acct.frozen", "冻结", "Frozen"),
    ("list.empty", "暂无记录。", "Nothing yet."),
    ("list.next", "下一页", "Next page"),
    ("bills.period_from", "开始日期", "From"),
    ("bills.period_to", "结束日期（不含）", "To (exclusive)"),
    ("bills.product", "产品", "Product"),
    ("bills.mode", "计费方式", "Charging mode"),
    ("bills.prepaid", "预付", "Prepaid"),
    ("bills.usage", "用量", "Usage"),
    ("bills.refund", "退款", "Refunds"),
    ("bills.discount", "优惠", "Discounts"),
    ("bills.unpaid", "欠费", "Unpaid"),
    ("bills.due", "应付", "Amount due"),
    ("bills.csv", "导出 CSV", "Export CSV"),
    ("bills.date_hint", "格式 YYYY-MM-DD", "Format YYYY-MM-DD"),
    (
        "err.date",
        "请输入日期，格式 YYYY-MM-DD。",
        "Enter a date as YYYY-MM-DD.",
    ),
    // --- order
    ("order.title", "订购", "Order"),
    ("order.mode", "计费方式", "Charging mode"),
    ("order.months", "购买时长（月）", "Term (months)"),
    ("order.quantity", "数量", "Quantity"),
    ("order.coupon", "优惠券（可选）", "Coupon (optional)"),
    ("order.preview", "查看价格明细", "See the price breakdown"),
    ("order.breakdown", "价格明细", "Price breakdown"),
    ("order.list", "原价", "List price"),
    ("order.step.term", "长期折扣", "Term discount"),
    ("order.step.customer", "客户折扣", "Customer discount"),
    ("order.step.region", "地域折扣", "Regional discount"),
    ("order.step.global", "全场折扣", "Platform discount"),
    ("order.step.volume", "批量折扣", "Volume discount"),
    ("order.step.coupon", "优惠券", "Coupon"),
    ("order.total", "应付", "To pay now"),
    ("order.deposit", "冻结押金", "Deposit frozen"),
    (
        "order.coupon_note",
        "优惠券 {} 将在确认时校验并抵扣。",
        "Coupon {} is checked and applied when you confirm.",
    ),
    ("order.confirm", "确认下单", "Confirm the order"),
    ("order.back", "修改", "Change"),
    (
        "order.done",
        "下单成功：订单 #{}，资源 #{}。",
        "Ordered: order #{}, resource #{}.",
    ),
    ("order.kind.purchase", "新购", "Purchase"),
    ("order.kind.renewal", "续费", "Renewal"),
    ("order.kind.change_spec", "变更规格", "Change of spec"),
    ("order.kind.unsubscribe", "退订", "Unsubscribe"),
    ("order.id", "订单号", "Order"),
    ("order.kind", "类型", "Type"),
    ("order.charged", "扣款", "Charged"),
    ("order.refunded", "退款", "Refunded"),
    ("order.time", "时间", "Time"),
    ("mode.prepaid", "包年包月", "Prepaid"),
    ("mode.payg", "按量付费", "Pay-as-you-go"),
    // --- resources
    ("res.id", "资源", "Resource"),
    ("res.product", "产品 / 规格", "Product / spec"),
    ("res.status", "状态", "Status"),
    ("res.expires", "到期", "Expires"),
    ("res.access", "访问地址", "Access address"),
    ("res.actions", "操作", "Actions"),
    ("res.renew", "续费", "Renew"),
    ("res.unsubscribe", "退订", "Unsubscribe"),
    ("res.expiring", "即将到期", "Expiring soon"),
    ("res.unsub.title", "确认退订", "Confirm the unsubscribe"),
    ("res.unsub.refund", "预计退款", "Refund"),
    (
        "res.unsub.days",
        "已用 {} 天 / 共 {} 天",
        "{} of {} days used",
    ),
    (
        "res.unsub.payg",
        "按量付费资源退订时结算最终用量并解冻押金。",
        "A pay-as-you-go resource is charged its final usage and its deposit released.",
    ),
    ("res.unsub.confirm", "确认退订", "Unsubscribe"),
    (
        "res.unsub.done",
        "已退订，退款 {}。",
        "Unsubscribed; refunded {}.",
    ),
    ("res.renew.done", "已续费。", "Renewed."),
    ("status.pending", "待开通", "Pending"),
    ("status.active", "运行中", "Active"),
    ("status.expiring", "即将到期", "Expiring"),
    ("status.expired", "已到期", "Expired"),
    ("status.paused", "已暂停", "Paused"),
    ("status.released", "已释放", "Released"),
    // --- users / tokens
    ("users.login", "登录名", "Login"),
    ("users.name", "名称", "Name"),
    ("users.roles", "角色", "Roles"),
    ("users.state", "状态", "State"),
    ("users.enabled", "正常", "Enabled"),
    ("users.disabled", "已停用", "Disabled"),
    ("users.create", "新建用户", "New user"),
    ("users.password", "初始密码", "Initial password"),
    ("users.created", "已创建用户 {}。", "Created user {}."),
    ("users.disable", "停用", "Disable"),
    ("tokens.name", "名称", "Name"),
    ("tokens.scopes", "权限范围", "Scopes"),
    ("tokens.expires", "有效期至", "Expires"),
    ("tokens.ttl_days", "有效天数", "Valid for (days)"),
    ("tokens.create", "创建令牌", "Create token"),
    ("tokens.revoke", "吊销", "Revoke"),
    ("tokens.revoked", "已吊销", "Revoked"),
    (
        "tokens.shown_once",
        "新令牌（只显示这一次，请立即保存）：",
        "The new token (shown only this once; store it now):",
    ),
    (
        "tokens.session_only",
        "API 令牌只能在登录会话中管理。",
        "API tokens are managed from a logged-in session only.",
    ),
    // --- cart
    ("cart.title", "购物车", "Cart"),
    ("cart.add", "加入购物车", "Add to cart"),
    ("cart.added", "已加入购物车。", "Added to the cart."),
    ("cart.empty", "购物车是空的。", "The cart is empty."),
    ("cart.remove", "移除", "Remove"),
    ("cart.checkout", "全部下单", "Buy everything"),
    ("cart.bought", "已下单 {} 项。", "Ordered {} items."),
    (
        "cart.full",
        "购物车最多 {} 项。",
        "The cart holds at most {} items.",
    ),
    ("cart.unavailable", "已下架或不可用", "No longer available"),
    // --- two-step verification
    ("mfa.title", "两步验证", "Two-step verification"),
    ("mfa.status", "状态", "Status"),
    ("mfa.on", "已开启", "On"),
    ("mfa.off", "未开启", "Off"),
    ("mfa.start", "开启两步验证", "Turn on two-step verification"),
    (
        "mfa.scan",
        "在验证器应用中添加下面的密钥（或 otpauth 链接），然后输入应用显示的 6 位动态码。",
        "Add the key below (or the otpauth link) to your authenticator app, then enter the 6-digit code it shows.",
    ),
    ("mfa.secret", "密钥", "Key"),
    ("mfa.confirm", "确认开启", "Confirm"),
    (
        "mfa.recovery",
        "两步验证已开启。以下恢复码只显示这一次，每个只能使用一次，请妥善保存：",
        "Two-step verification is on. These recovery codes are shown only this once; each works once; keep them safe:",
    ),
    // --- ops
    ("ops.title", "运营控制台", "Operations console"),
    ("ops.dashboard", "运营看板", "Dashboard"),
    ("ops.registrations", "客户审核", "Customer review"),
    ("ops.customers", "客户", "Customers"),
    ("ops.catalogue", "产品与定价", "Catalogue and pricing"),
    ("ops.orders", "订单与验收", "Orders and acceptance"),
    ("ops.finance", "线下充值审批", "Offline recharges"),
    ("ops.discounts", "折扣与优惠券", "Discounts and coupons"),
    ("ops.suppliers", "供应商", "Suppliers"),
    ("ops.audit", "审计日志", "Audit log"),
    (
        "dash.orders_per_day",
        "近 14 天每日订单数",
        "Orders per day, last 14 days",
    ),
    (
        "dash.revenue_per_product",
        "近 30 天各产品收入",
        "Revenue per product, last 30 days",
    ),
    (
        "dash.top_customers",
        "近 30 天消费前 5 名客户",
        "Top 5 customers by spend, last 30 days",
    ),
    (
        "dash.resources",
        "资源使用情况（按状态）",
        "Resource usage (instances by status)",
    ),
    ("dash.no_data", "暂无数据。", "No data yet."),
    ("reg.kind", "类型", "Kind"),
    ("reg.applicant", "申请人", "Applicant"),
    ("reg.submitted", "提交时间", "Submitted"),
    ("reg.status", "状态", "Status"),
    ("reg.approve", "通过", "Approve"),
    ("reg.reject", "驳回", "Reject"),
    ("reg.reason", "驳回原因", "Reason"),
    ("reg.status.pending", "待审核", "Pending"),
    ("reg.status.approved", "已通过", "Approved"),
    ("reg.status.rejected", "已驳回", "Rejected"),
    (
        "reg.approved",
        "已通过申请 #{}。",
        "Approved application #{}.",
    ),
    (
        "reg.rejected",
        "已驳回申请 #{}。",
        "Rejected application #{}.",
    ),
    ("reg.filter", "状态", "Status"),
    ("org.id", "编号", "Id"),
    ("org.name", "名称", "Name"),
    ("org.kind", "类型", "Kind"),
    ("org.status", "状态", "Status"),
    ("org.created", "创建时间", "Created"),
    ("org.kind.operator", "运营方", "Operator"),
    (
        "org.kind.supplier_api",
        "产品供应商（API）",
        "Product supplier (API)",
    ),
    (
        "org.kind.supplier_resource",
        "资源供应商",
        "Resource supplier",
    ),
    ("org.kind.distributor", "分销商", "Distributor"),
    ("org.kind.enterprise", "企业客户", "Enterprise customer"),
    ("org.kind.personal", "个人客户", "Personal customer"),
    ("org.status.pending", "待审核", "Pending"),
    ("org.status.active", "正常", "Active"),
    ("org.status.rejected", "已驳回", "Rejected"),
    ("org.status.suspended", "已停用", "Suspended"),
    ("c360.title", "客户 360 视图", "Customer 360 view"),
    ("c360.users", "用户", "Users"),
    ("c360.balances", "账户", "Account"),
    ("c360.instances", "资源", "Resources"),
    ("c360.orders", "最近订单", "Recent orders"),
    ("c360.statements", "最近收支", "Recent statements"),
    ("cat.categories", "类别", "Categories"),
    ("cat.new_category", "新建类别", "New category"),
    ("cat.products", "产品", "Products"),
    ("cat.new_product", "新建产品", "New product"),
    ("cat.name", "名称", "Name"),
    ("cat.category", "类别", "Category"),
    ("cat.supplier", "供应商", "Supplier"),
    ("cat.region", "地域", "Region"),
    (
        "cat.manual",
        "人工开通（需运营验收）",
        "Provisioned by hand (operator acceptance)",
    ),
    ("cat.share", "供应商分成（%）", "Supplier share (%)"),
    ("cat.create", "创建", "Create"),
    ("cat.publish", "上架", "Publish"),
    ("cat.unpublish", "下架", "Unpublish"),
    ("cat.new_spec", "新增规格", "New spec"),
    (
        "cat.family",
        "规格族（如 gpu-a100）",
        "Family (e.g. gpu-a100)",
    ),
    (
        "cat.spec_name",
        "规格名称（如 8x80GB）",
        "Spec name (e.g. 8x80GB)",
    ),
    (
        "cat.monthly",
        "月价（元，可留空）",
        "Monthly price (yuan, optional)",
    ),
    (
        "cat.yearly",
        "年价（元，可留空）",
        "Yearly price (yuan, optional)",
    ),
    (
        "cat.per_minute",
        "按量单价（元/分钟，可留空）",
        "Pay-as-you-go price (yuan per minute, optional)",
    ),
    (
        "cat.minimum",
        "按量最低消费（元）",
        "Pay-as-you-go minimum charge (yuan)",
    ),
    (
        "cat.deposit",
        "按量押金（元）",
        "Pay-as-you-go deposit (yuan)",
    ),
    (
        "cat.need_mode",
        "至少填写月价或按量单价之一。",
        "Give a monthly price or a per-minute price (or both).",
    ),
    (
        "cat.no_supplier",
        "请先在“供应商”页面创建供应商组织。",
        "Create a supplier organisation on the Suppliers page first.",
    ),
    (
        "cat.created_product",
        "已创建产品 #{}。",
        "Created product #{}.",
    ),
    ("cat.published_ok", "已上架。", "Published."),
    ("cat.unpublished_ok", "已下架。", "Unpublished."),
    ("cat.manage", "管理", "Manage"),
    ("cat.reprice", "调整定价", "Change pricing"),
    (
        "cat.reprice_note",
        "新价格只适用于之后的订单；已有订单保留下单时的价格快照。",
        "New prices apply to later orders; existing orders keep the price snapshot they were placed at.",
    ),
    ("acc.pending", "待验收资源", "Resources awaiting acceptance"),
    ("acc.resource_id", "资源编号", "Resource id"),
    ("acc.address", "访问地址", "Access address"),
    ("acc.accept", "验收并交付", "Accept and deliver"),
    (
        "acc.accepted",
        "资源 #{} 已交付。",
        "Resource #{} delivered.",
    ),
    ("acc.customer", "客户", "Customer"),
    ("fin.enter", "录入线下转账", "Enter an offline transfer"),
    ("fin.customer", "客户组织编号", "Customer organisation id"),
    ("fin.direction", "方向", "Direction"),
    ("fin.in", "充值（转入）", "Recharge (in)"),
    ("fin.out", "提现（转出）", "Withdrawal (out)"),
    ("fin.reference", "银行流水号", "Bank reference"),
    ("fin.entered_by", "录入人", "Entered by"),
    ("fin.approve", "审批", "Approve"),
    (
        "fin.entered",
        "已录入，等待另一位财务人员审批。",
        "Entered; a second finance user must approve it.",
    ),
    ("fin.approved", "已审批。", "Approved."),
    (
        "fin.voucher",
        "发放代金券（元）",
        "Grant a cash voucher (yuan)",
    ),
    ("fin.credit_line", "信用额度（元）", "Credit line (yuan)"),
    ("fin.grant", "发放", "Grant"),
    ("fin.granted", "已生效。", "Done."),
    (
        "fin.grant_pending",
        "超出个人限额，已提交，等待另一位财务人员审批。",
        "Beyond your own limit: submitted for a second finance user's approval.",
    ),
    (
        "fin.grants",
        "代金券与信用额度审批",
        "Vouchers and credit lines",
    ),
    ("fin.kind", "类型", "Kind"),
    ("fin.kind.voucher", "代金券", "Cash voucher"),
    ("fin.kind.credit_line", "信用额度", "Credit line"),
    ("fin.grant.alone", "已生效（限额内）", "Done (within limit)"),
    ("fin.grant.pending", "待审批", "Pending"),
    ("fin.grant.approved", "已审批", "Approved"),
    ("fin.status.pending", "待审批", "Pending"),
    ("fin.status.approved", "已审批", "Approved"),
    ("disc.scope", "适用范围", "Applies to"),
    ("disc.scope.global", "全场", "Everything"),
    ("disc.scope.customer", "指定客户", "One customer"),
    ("disc.scope.region", "指定地域", "One region"),
    ("disc.scope.volume", "批量", "Volume"),
    ("disc.off", "折扣（%）", "Off (%)"),
    (
        "disc.target",
        "客户编号 / 地域 / 最小数量",
        "Customer id / region / least quantity",
    ),
    ("disc.create", "新建折扣", "New discount"),
    ("disc.coupons", "新建优惠券", "New coupon"),
    ("disc.code", "券码", "Code"),
    ("disc.amount_off", "减免金额（元）", "Amount off (yuan)"),
    ("disc.min_spend", "最低消费（元）", "Minimum spend (yuan)"),
    ("disc.valid_days", "有效天数", "Valid for (days)"),
    ("disc.created", "已创建。", "Created."),
    ("sup.new", "新建供应商", "New supplier"),
    ("sup.kind", "供应商类型", "Supplier type"),
    ("sup.admin_login", "管理员登录名", "Administrator login"),
    ("sup.admin_name", "管理员名称", "Administrator name"),
    (
        "sup.admin_password",
        "管理员初始密码",
        "Administrator initial password",
    ),
    ("sup.created", "已创建供应商 #{}。", "Created supplier #{}."),
    ("audit.seq", "序号", "Seq"),
    ("audit.time", "时间", "Time"),
    (
        "audit.actor",
        "操作人（用户/组织）",
        "Actor (user / organisation)",
    ),
    ("audit.action", "操作", "Action"),
    ("audit.target", "对象", "Target"),
    ("audit.outcome", "结果", "Outcome"),
    ("audit.ip", "来源 IP", "Client IP"),
    ("audit.actor_org", "组织编号", "Organisation id"),
    ("audit.actor_user", "用户编号", "User id"),
    ("audit.outcome.success", "成功", "Success"),
    ("audit.outcome.denied", "拒绝", "Denied"),
    ("audit.outcome.error", "出错", "Error"),
    (
        "audit.chain_ok",
        "哈希链完整：{} 条记录已校验。",
        "Hash chain intact: {} records checked.",
    ),
    (
        "audit.chain_bad",
        "哈希链校验失败！",
        "Hash chain verification FAILED!",
    ),
    // --- system
    ("sys.title", "系统控制台", "System console"),
    ("sys.users", "用户与角色", "Users and roles"),
    ("sys.roles", "角色与权限", "Roles and permissions"),
    ("sys.orgs", "组织结构", "Organisation structure"),
    ("sys.security", "安全设置", "Security settings"),
    ("sys.oem", "OEM 品牌设置", "OEM branding"),
    ("sys.audit", "审计日志", "Audit log"),
    ("sys.role", "角色", "Role"),
    ("sys.held_in", "适用组织类型", "May be held in"),
    ("sys.distributor", "上级分销商", "Distributor"),
    ("sec.min_chars", "密码最少字符数", "Least password length"),
    (
        "sec.history",
        "不可重复使用的历史密码数",
        "Recent passwords that cannot be reused",
    ),
    (
        "sec.mixed",
        "要求大小写字母与数字混合",
        "Require mixed case and digits",
    ),
    (
        "sec.failures_max",
        "锁定前允许的失败次数",
        "Failed logins before lockout",
    ),
    (
        "sec.lock_secs",
        "锁定时长（秒）",
        "Lockout duration (seconds)",
    ),
    (
        "sec.session_ttl",
        "会话有效期（秒）",
        "Session lifetime (seconds)",
    ),
    (
        "sec.sessions_max",
        "每用户最多会话数",
        "Sessions per user at most",
    ),
    ("sec.save", "保存", "Save"),
    ("sec.saved", "已保存。", "Saved."),
    (
        "sec.mfa_note",
        "两步验证（TOTP）：每位用户可在个人设置中开启；开启后登录需输入动态码。",
        "Two-step verification (TOTP): each user can turn it on; logins then need a code.",
    ),
    ("oem.name", "平台名称", "Platform name"),
    (
        "oem.logo",
        "徽标文字（1–4 个字符）",
        "Logo text (1–4 characters)",
    ),
    ("oem.copyright", "版权声明", "Copyright notice"),
    ("oem.default_name", "算力平台", "Suanli"),
    (
        "oem.saved",
        "已保存，所有页面已应用新的品牌设置。",
        "Saved: every page now shows the new branding.",
    ),
    ("common.save", "保存", "Save"),
    ("common.yes", "是", "Yes"),
    ("common.no", "否", "No"),
    ("common.submit", "提交", "Submit"),
    ("common.actions", "操作", "Actions"),
    ("common.none", "—", "—"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_present() {
        let mut seen = std::collections::HashSet::new();
        for (k, zh, en) in TEXTS {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!zh.is_empty() && !en.is_empty(), "empty text for {k}");
            assert!(
                !en.chars().any(is_han) || *k == "nav.lang",
                "English text of {k} has Chinese characters"
            );
        }
    }

    /// A CJK unified ideograph.
    pub fn is_han(c: char) -> bool {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
    }

    #[test]
    fn money_and_numbers() {
        assert_eq!(Lang::Zh.money(123_456), "¥1,234.56");
        assert_eq!(Lang::En.money(-5), "-¥0.05");
        assert_eq!(Lang::En.money(0), "¥0.00");
        assert_eq!(Lang::En.number(1_234_567), "1,234,567");
        assert_eq!(parse_yuan("1,234.5"), Some(123_450));
        assert_eq!(parse_yuan("0.07"), Some(7));
        assert_eq!(parse_yuan("1.234"), None);
        assert_eq!(parse_yuan("-3"), None);
        assert_eq!(parse_yuan("abc"), None);
        assert_eq!(parse_yuan(""), None);
    }

    #[test]
    fn dates_in_china_time() {
        // 2026-11-22T16:30:00Z = 2026-11-23 00:30 CST.
        let ms = 1_795_365_000_000;
        assert_eq!(Lang::Zh.datetime(ms), "2026年11月23日 00:30");
        assert_eq!(Lang::En.datetime(ms), "23 Nov 2026, 00:30");
        assert_eq!(
            Lang::En.tf("res.unsub.days", &["3", "30"]),
            "3 of 30 days used"
        );
    }
}
