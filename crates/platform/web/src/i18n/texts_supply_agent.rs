//! Translations of the provisioning work orders (supplier console and user console):
//! key, Chinese, English.

/// Strings of the work-order pages.
pub const SUPPLY_AGENT_TEXTS: &[(&str, &str, &str)] = &[
    ("wo.title", "开通工单", "Provisioning work orders"),
    (
        "wo.hint",
        "供应商代理为需手工开通的交易提出工单：批准或拒绝待人工受理的订单，开通后回填访问信息（地址、凭据引用、资源池），消费者随即可见。凭据只填引用（如密钥库路径），不要填写密码或私钥。",
        "Your agent raises a work order for every trade to provision by hand: approve or decline the orders it left for manual acceptance, and once provisioned fill back the access details (address, credentials reference, pool), which the consumer then sees. Give a reference to the credentials (e.g. a vault path), never a password or key.",
    ),
    ("wo.filter", "按状态筛选", "Filter by status"),
    ("wo.all", "全部", "All"),
    ("wo.status.awaiting_approval", "待批准", "Awaiting approval"),
    ("wo.status.open", "待开通", "Open"),
    ("wo.status.filled", "已回填", "Filled"),
    ("wo.status.closed", "已关闭", "Closed"),
    ("wo.status.declined", "已拒绝", "Declined"),
    ("wo.trade", "交易流水号", "Trade serial"),
    ("wo.consumer", "消费者 DID", "Consumer DID"),
    ("wo.supplier", "供应商 DID", "Supplier DID"),
    ("wo.order", "订单", "Order"),
    (
        "wo.order_line",
        "报价 #{} · {} 单位 · {} 分钟 · {}",
        "Offer #{} · {} units · {} minutes · {}",
    ),
    ("wo.status", "状态", "Status"),
    ("wo.access", "访问信息", "Access details"),
    ("wo.address", "地址", "Address"),
    ("wo.credentials_ref", "凭据引用", "Credentials reference"),
    ("wo.pool_id", "资源池", "Pool id"),
    ("wo.approve", "批准", "Approve"),
    ("wo.decline", "拒绝", "Decline"),
    ("wo.fill", "回填", "Fill back"),
    ("wo.refill", "更正", "Correct"),
    (
        "wo.approved",
        "工单 {} 已批准，代理将受理该订单。",
        "Work order {} approved; the agent accepts the order.",
    ),
    (
        "wo.declined",
        "工单 {} 已拒绝，代理将在链上拒绝该订单。",
        "Work order {} declined; the agent declines the order on the chain.",
    ),
    (
        "wo.filled",
        "工单 {} 的访问信息已回填。",
        "Access details of work order {} filled back.",
    ),
    ("wo.mine", "资源访问信息", "Resource access"),
    (
        "wo.mine_hint",
        "供应商为您的交易手工开通资源后回填的访问信息。凭据引用指向供应商告知的凭据存放处。",
        "The access details suppliers filled back after provisioning your trades by hand. The credentials reference points to where the supplier keeps your credentials.",
    ),
    ("wo.not_yet", "供应商尚未回填", "Not filled back yet"),
    (
        "err.invalid_address",
        "地址须为 1–300 个不含空格的可打印字符（主机、主机:端口或 URL）",
        "The address must be 1–300 printable characters without spaces (host, host:port or URL)",
    ),
    (
        "err.invalid_credentials_ref",
        "凭据引用须为 1–200 个不含空格的可打印字符（如 vault:kv/dc1/node-7）",
        "The credentials reference must be 1–200 printable characters without spaces (e.g. vault:kv/dc1/node-7)",
    ),
    (
        "err.secret_in_reference",
        "请填写凭据的存放位置，不要填写密码或私钥本身",
        "Give where the credentials are kept, never the secret itself",
    ),
    (
        "err.invalid_pool_id",
        "资源池须为 1–64 个字母、数字、“.”、“_”或“-”",
        "The pool id must be 1–64 letters, digits, '.', '_' or '-'",
    ),
    (
        "err.invalid_serial",
        "交易流水号须为 32 个十六进制字符",
        "The trade serial must be 32 hexadecimal characters",
    ),
    (
        "err.work_order_status",
        "工单当前状态不允许此操作，请刷新后重试",
        "The work order's status does not allow this; reload and try again",
    ),
    (
        "err.trade_closed",
        "该交易已关闭，无需开通",
        "The trade is closed; there is nothing to provision",
    ),
    // err.ledger_unavailable: in texts_supply_catalog.rs (one key, one text).
];
