//! Translations of the platform-hosted supplier agent (a section of the supplier's agent
//! keys page): key, Chinese, English.

/// Strings of the hosted-agent section.
pub const SUPPLY_HOSTED_TEXTS: &[(&str, &str, &str)] = &[
    (
        "ha.title",
        "由平台托管代理",
        "Let the platform host your agent",
    ),
    (
        "ha.hint",
        "没有自己的服务器时，可由平台替您运行供应商代理：平台生成一把代理密钥，用您的管理员密码临时解封供应商 DID 密钥完成委托，并把代理密钥加密保存在平台上（加密密钥是数据目录中的文件，不在数据库里）。代价是平台运营方也能以您的名义受理订单、打卡和结束交易（但不能发布报价、修改模式或提现）。停止托管会在交易链上撤销该密钥并删除平台保存的密文。",
        "Without a machine of your own, the platform can run your supplier agent: it generates an agent key, delegates it with the supplier DID key your administrator password unseals for that one request, and keeps the agent key sealed on the platform (under a key that is a file in its data directory, not in the database). The trade-off: the platform's operator can then also accept orders, check in and close trades in your name (never publish offers, change modes or take payouts). Stopping revokes the key on the trade chain and deletes the sealed copy.",
    ),
    ("ha.status", "状态", "Status"),
    ("ha.status.starting", "委托中", "Being delegated"),
    ("ha.status.active", "运行中", "Running"),
    ("ha.status.stopped", "已停止", "Stopped"),
    ("ha.mode", "受理策略", "Acceptance policy"),
    (
        "ha.mode.auto",
        "自动（在限额内）",
        "Automatic (within the limits)",
    ),
    (
        "ha.mode.manual",
        "人工（每笔订单待批准）",
        "Manual (every order awaits approval)",
    ),
    ("ha.max_units", "每单最多单位数", "Most units per order"),
    ("ha.max_minutes", "每单最长分钟数", "Longest order, minutes"),
    (
        "ha.max_value",
        "每单最高金额（元）",
        "Largest order value (yuan)",
    ),
    (
        "ha.offers",
        "自动受理的报价",
        "Offers accepted automatically",
    ),
    (
        "ha.offers_input",
        "自动受理的报价编号（逗号分隔；留空为全部）",
        "Offer ids accepted automatically (comma-separated; blank: all)",
    ),
    ("ha.every_offer", "全部报价", "Every offer"),
    ("ha.created", "创建时间", "Created"),
    ("ha.stopped", "停止时间", "Stopped"),
    ("ha.start", "开始托管", "Start hosting"),
    (
        "ha.stop",
        "停止托管并撤销密钥",
        "Stop hosting and revoke the key",
    ),
    (
        "ha.started",
        "托管代理已启动，密钥 {}…",
        "Hosted agent started, key {}…",
    ),
    (
        "ha.stopped_done",
        "托管代理已停止，密钥 {}… 已撤销。",
        "Hosted agent stopped; key {}… revoked.",
    ),
    (
        "ha.err_number",
        "请输入正整数",
        "Enter a positive whole number",
    ),
    (
        "ha.err_offers",
        "报价编号须为以逗号分隔的正整数",
        "Offer ids: positive whole numbers separated by commas",
    ),
    ("ha.status.not_runnable", "无法运行", "Cannot run"),
    (
        "ha.problem.hosted_key_missing",
        "平台找不到托管代理密钥文件（hosted-agents.key），无法打开此代理的密钥，代理未运行。请联系平台运营方恢复该文件，或停止此代理后重新开始托管。",
        "The platform cannot find its hosted-agent key file (hosted-agents.key), so this agent's key cannot be opened and the agent is not running. Ask the platform operator to restore the file, or stop this agent and start hosting again.",
    ),
    (
        "ha.problem.hosted_key_unreadable",
        "平台的托管代理密钥文件无法读取或格式有误，代理未运行。请联系平台运营方，或停止此代理后重新开始托管。",
        "The platform's hosted-agent key file cannot be read or is malformed, so the agent is not running. Ask the platform operator, or stop this agent and start hosting again.",
    ),
    (
        "ha.problem.hosted_key_unopenable",
        "此代理的密钥无法用平台当前的托管代理密钥打开（密钥文件已更换或数据被改动），代理未运行。请停止此代理后重新开始托管。",
        "This agent's key does not open under the platform's current hosted-agent key (the key file was replaced or the data changed), so the agent is not running. Stop this agent and start hosting again.",
    ),
    (
        "ha.rule.mode",
        "受理方式须为“自动”或“人工”",
        "The mode must be automatic or manual",
    ),
    (
        "ha.rule.required",
        "自动受理时必须填写",
        "Required with automatic acceptance",
    ),
    (
        "ha.rule.offer_ids",
        "报价编号从 1 开始",
        "Offer ids start at 1",
    ),
    (
        "ha.rule.manual_limits",
        "人工受理不设上限：请清空每单单位数、分钟数和金额上限",
        "A manual policy takes no limits: leave the units, minutes and value limits empty",
    ),
    (
        "ha.rule.positive",
        "每单单位数、分钟数和金额上限都必须大于零",
        "The units, minutes and value limits must all be greater than zero",
    ),
    (
        "err.invalid_policy",
        "受理策略有误",
        "The acceptance policy is not valid",
    ),
    (
        "err.hosted_agent_exists",
        "平台已为您托管一个代理，请先停止它",
        "The platform already hosts an agent for you; stop it first",
    ),
];
