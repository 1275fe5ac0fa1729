"""The words people read: codes stay in the APIs, pages show Chinese. A template shows a code
through the filter web.py makes of its table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

ROLES: Final = {
    "admin": "管理员",
    "clerk": "登记员",
    "inspector": "检查员",
    "handler": "投诉处理员",
    "leader": "领导",
    "department": "部门人员",
    "operator": "市场主办方",
}
SEVERITY: Final = {"warning": "提示", "minor": "一般", "major": "较重", "critical": "严重"}
OUTCOME: Final = {"pass": "合格", "minor": "一般问题", "major": "较重问题", "critical": "严重问题"}
RULE: Final = {
    "cold_chain_excursion": "冷链温度超标",
    "cold_chain_cumulative": "累计超温",
    "monitoring_gap": "监测中断",
    "crowding": "客流超限",
    "transaction_anomaly": "交易异常",
}
REASON_KIND: Final = {
    "risk": "风险",
    "complaint": "投诉",
    "patrol": "例行巡查",
    "reinspection": "复查",
    "renovation": "改造检查",
}
# What put a task on the list (a task's triggers).
TRIGGER_KIND: Final = {"risk": "风险", "complaint": "投诉", "renovation_check": "改造检查未通过"}
TASK_STATE: Final = {
    "open": "待认领",
    "claimed": "已认领",
    "completed": "已完成",
    "withdrawn": "已撤销",
}
# Why a task was withdrawn (contracts.inspection.WithdrawalReason).
WITHDRAWAL_REASON: Final = {
    "merchant_left": "商户已退出经营",
    "market_closed": "市场已停业",
    "finding_corrected": "检查结论经信用异议更正",
}
# What a withdrawn task and a lapsed order leave to do, by the reason (none either way).
WITHDRAWN_TASK_LEFT: Final = {
    "merchant_left": "已无人可查：任务无需再办",
    "market_closed": "已无人可查：任务无需再办",
    "finding_corrected": "没有需要复查的问题：任务无需再办",
}
LAPSED_ORDER_LEFT: Final = {
    "merchant_left": "无人可整改，不再复查",
    "market_closed": "无人可整改，不再复查",
    "finding_corrected": "没有需要整改的问题，不再复查",
}
RECTIFICATION_STATE: Final = {"open": "整改中", "verified": "已复查通过", "lapsed": "已终止"}
DEPARTMENT: Final = {
    "market_regulation": "市场监管",
    "health": "卫生健康",
    "environment": "生态环境",
    # Joint meetings and enforcement (issue 17) name these too (services/campaign/departments.yaml).
    "urban_management": "城市管理",
    "public_security": "公安",
    "commerce": "商务",
}
COMPLAINT_CATEGORY: Final = {
    "food_safety": "食品安全",
    "short_weight": "缺斤短两",
    "price": "价格",
    "hygiene": "环境卫生",
    "service": "服务态度",
    "other": "其他",
}
COMPLAINT_STATE: Final = {
    "received": "待受理",
    "accepted": "已受理",
    "rejected": "不予受理",
    "closed": "已办结",
}
MARKET_KIND: Final = {"farmers": "农贸市场", "wholesale": "批发市场"}
TERMINAL_KIND: Final = {"cold_chain": "冷链温度", "footfall": "客流计数", "payment": "电子支付"}
RISK_STATE: Final = {"open": "未解除", "cleared": "已解除"}
RENOVATION_STATUS: Final = {
    "not_planned": "未列入计划",
    "planned": "已列入计划",
    "in_progress": "改造中",
    "completed": "已完成",
}
PROFILE: Final = {"chilled": "冷藏", "frozen": "冷冻"}
MILESTONE_KIND: Final = {
    "work_plan_submitted": "报送工作方案",
    "leadership_structure_submitted": "报送领导机构",
    "deployment_meeting_held": "召开部署会",
    "task_force_set_up": "成立专班",
    "renovation_plan_approved": "改造方案获批",
}
MILESTONE_STATUS: Final = {
    "on_time": "按时完成",
    "late": "逾期完成",
    "overdue": "逾期未完成",
    "pending": "未到期",
    "missing": "未完成",
}
CLOSE_OUTCOME: Final = {
    "mediated": "调解成功",
    "refunded": "退款退货",
    "referred_to_case": "转立案查处",
    "unfounded": "投诉不成立",
    "withdrawn": "投诉人撤回",
}
CHANNEL: Final = {
    "web": "网上投诉",
    "hotline_12345": "12345 热线",
    "platform_12315": "12315 平台",
    "walk_in": "现场投诉",
    "other": "其他渠道",
}
CLOCK: Final = {"acceptance": "受理期限", "mediation": "调解期限"}
CREDIT_KIND: Final = {
    "merchant.registered": "登记建档",
    "inspection.pass": "检查合格",
    "inspection.finding.minor": "检查发现一般问题",
    "inspection.finding.major": "检查发现较重问题",
    "inspection.finding.critical": "检查发现严重问题",
    "rectification.on_time": "按期整改",
    "rectification.overdue": "整改逾期",
    "complaint.substantiated": "投诉属实",
    "food_safety_risk.confirmed": "食品安全风险经检查确认",
    "licence.expired": "许可证过期",
    "merchant.suspended": "暂停经营",
    # A joint enforcement case's decision (credit scores campaign.enforcement.v1).
    "enforcement.warning": "联合执法：警告",
    "enforcement.fine": "联合执法：罚款",
    "enforcement.suspension": "联合执法：暂停经营",
    # 信用异议 decided 更正: the disputed entry reversed (docs/objections.md).
    "objection.corrected": "异议更正",
    "objection.repaired": "信用修复",
    # What followed from a finding found wrong (its overdue, its suspension), undone with it.
    "objection.follow_on": "随检查结论更正撤销",
    # The registry corrected the merchant's 统一社会信用代码: its credit is the new code's.
    "merchant.credit_code": "统一社会信用代码更正",
}
OBJECTION_STATE: Final = {
    "open": "待决定",
    "corrected": "已更正",
    "upheld": "维持原记录",
    "withdrawn": "已撤回",
}
OBJECTION_DECISION: Final = {"corrected": "更正：撤销这条记录的扣分", "upheld": "维持原记录"}
# 信用修复 goes the objection's way on its own ground (services/credit/domain/objections.py).
OBJECTION_GROUND: Final = {"error": "信用异议", "repaired": "信用修复"}
REPAIR_STATE: Final = {
    "open": "待决定",
    "repaired": "已修复",
    "upheld": "不予修复",
    "withdrawn": "已撤回",
}
REPAIR_DECISION: Final = {"repaired": "准予修复：这条记录不再计分", "upheld": "不予修复"}
DECISIONS_OF_GROUND: Final = {"error": OBJECTION_DECISION, "repaired": REPAIR_DECISION}
MERCHANT_STATUS: Final = {
    "active": "正常经营",
    "licence_expired": "许可证已过期",
    "suspended": "暂停经营",
    "left": "已退出",
}

FIELDS: Final = {
    "name": "名称",
    "credit_code": "统一社会信用代码",
    "food_licence": "食品经营许可证",
    "licence_valid_until": "许可证有效期至",
    "stall_no": "摊位号",
    "market_id": "市场",
    "categories": "经营品类",
    "reason": "理由",
    "outcome": "结果",
    "satisfaction": "满意度",
    "findings": "检查发现",
    "file": "照片",
    "state": "状态",
    "substantiated": "是否属实",
    # Joint meetings and enforcement, the honour and warning list (issue 17).
    "district": "区",
    "title": "会议名称",
    "held_on": "召开日期",
    "departments": "参会部门",
    "minutes": "会议纪要",
    "decision": "议定事项",
    "department": "责任部门",
    "deadline": "办结期限",
    "note": "说明",
    "origin": "案件来源",
    "facts": "案件事实",
    "sanction": "处罚",
    "fine_yuan": "罚款金额（元）",
    "suspension_days": "暂停经营天数",
    "reasoning": "理由",
    "month": "月份",
    "latitude": "纬度",
    "longitude": "经度",
}

# pydantic's reason for a value that is no whole number: "应为整数", or a field's own wording
# (`field_reason_zh`).
_NO_INTEGER: Final = re.compile(r"Input should be a valid integer.*", re.I)
# pydantic's reason for a field left out of a body.
_REQUIRED: Final = re.compile(r"Field required", re.I)
# The services explain in English; the pages say the same in Chinese where the reason is known.
_REASONS: Final = [
    # A role the service does not admit (services/runtime/auth.py): the page is not for it.
    (re.compile(r"role '\w+' may not do this.*"), "您的角色无权查看此页面。"),
    # Photos of an inspection and of a re-check (services/inspection/domain/photos.py).
    (re.compile(r"not a JPEG, PNG or WebP image.*"), "只能上传 JPEG、PNG 或 WebP 格式的照片"),
    (re.compile(r"the file is empty"), "照片文件是空的"),
    (re.compile(r"a photo is at most \d+ bytes \(([\d.]+) MB\)"), r"每张照片不能超过 \1 MB"),
    (re.compile(r"a (task|rectification) has at most (\d+) photos.*"), r"最多 \2 张照片"),
    (re.compile(r"a check records at most (\d+) photos"), r"每次复查最多 \1 张照片"),
    (re.compile(r"no photo .* of this rectification"), "照片不是此整改通知的复查照片"),
    (re.compile(r"no photo .* of this task"), "照片不是此任务的检查照片"),
    # A citizen's photos of a complaint (services/complaints/domain/photos.py).
    (re.compile(r"a complaint has at most (\d+) photos.*"), r"最多 \1 张照片"),
    (re.compile(r"photo .* is named twice"), "同一张照片只能添加一次"),
    (
        re.compile(r"photo .* is already attached to a complaint"),
        "照片已随其他投诉提交，请重新选择",
    ),
    # The time the service keeps an upload, as its reason names it (COMPLAINTS_PHOTO_TTL_S);
    # a reason in other words gets none, rather than a time that may not be the service's.
    (
        re.compile(r"photo .* expired \((\d+) hours? unclaimed\).*"),
        r"照片上传已超过 \1 小时，请重新选择",
    ),
    (
        re.compile(r"photo .* expired \((\d+) minutes? unclaimed\).*"),
        r"照片上传已超过 \1 分钟，请重新选择",
    ),
    (
        re.compile(r"photo .* expired \(([\d.]+) seconds? unclaimed\).*"),
        r"照片上传已超过 \1 秒，请重新选择",
    ),
    (re.compile(r"photo .* expired .*"), "照片上传已过期，请重新选择"),
    (re.compile(r"no photo .* was uploaded.*"), "照片已失效，请重新选择"),
    (re.compile(r"a damaged \w+ image.*"), "照片文件已损坏，无法读取"),
    (re.compile(r"rectification \S+ is verified; cannot .*"), "该整改通知已复查通过"),
    # 完成检查: the outcome and the findings ticked must agree (inspection's domain/lifecycle.py).
    (re.compile(r"an outcome of pass records no findings"), "检查结果为合格时不能勾选问题项"),
    (
        re.compile(r"an outcome of \w+ needs at least one finding"),
        "检查结果为一般、较重或严重问题时，须至少勾选一项问题",
    ),
    *(
        (
            re.compile(rf"\w+ is milder than finding .*; the outcome must be at least {code}"),
            f"检查结果不能轻于所勾选的问题项：至少为“{text}”",
        )
        for code, text in OUTCOME.items()
    ),
    (re.compile(r"at most (\d+) findings per inspection"), r"每次检查最多勾选 \1 项问题"),
    # Joint meetings and enforcement (services/campaign/domain), the honour list (credit).
    (re.compile(r"must not be blank"), "必填"),
    # 信用异议 (services/credit/domain/objections.py).
    (
        re.compile(r".* is already disputed by objection .*|.* is already disputed"),
        "这条记录已登记过异议",
    ),
    (re.compile(r".* faded on .*: it no longer counts"), "这条记录已失效，不再计分"),
    (re.compile(r".* cost no credit: there is nothing to correct"), "这条记录没有扣分，无需异议"),
    (re.compile(r".* reverses another entry: it is not disputed"), "更正或修复记录不能再提出异议"),
    # 信用修复 (the same module): a repair's own conditions.
    (
        re.compile(r".* more than (\d+): it is not repaired before it fades"),
        r"扣分超过 \1 分的记录不能提前修复，满一年后不再计分",
    ),
    (re.compile(r".* may be repaired from .*"), "这条记录尚未到可申请信用修复的时间"),
    (
        re.compile(r".* was refused a repair on .*: it may be asked again (\d+) days after.*"),
        r"不予修复后满 \1 日才能再次申请信用修复",
    ),
    (
        re.compile(r".* cost credit since: a merchant who offended again is not repaired"),
        "这条记录之后又有扣分记录，不能修复",
    ),
    (
        re.compile(r"the merchant has (\d+) rectification order\(s\) still open.*"),
        r"商户尚有 \1 项整改未完成，整改完成后方可修复",
    ),
    (re.compile(r"a repair needs the merchant's written commitment.*"), "须收到商户的信用承诺书"),
    (re.compile(r"must be one of error, repaired"), "请选择申请类型"),
    (re.compile(r"must be one of repaired, upheld"), "请选择准予修复或不予修复"),
    (re.compile(r"objection \S+ was decided .*"), "该异议已作出决定"),
    (re.compile(r"objection \S+ was withdrawn .*"), "该异议已撤回"),
    (
        re.compile(r"objection \S+ was recorded by this person.*"),
        "异议由您登记，须由本区其他登记员决定",
    ),
    (re.compile(r"must be one of corrected, upheld"), "请选择更正或维持"),
    (re.compile(r"merchant \S+ has no ledger entry .*"), "找不到这条信用记录"),
    (
        re.compile(r".* was recorded at another registration of the same business.*"),
        "这条记录记于同一统一社会信用代码的另一登记，请在该登记的页面办理",
    ),
    (re.compile(r"merchant \S+ left the market on (\S+)"), r"该商户已于 \1 退出经营"),
    # 停业 (services/registry/domain/model.py): a closed market, and one with merchants left.
    (
        re.compile(r"market \S+ closed on ([\d-]+); its project goes no further"),
        r"该市场已于 \1 停业：改造项目不再推进",
    ),
    (
        re.compile(
            r"market \S+ closed on ([\d-]+); "
            r"it takes no report, self-inspection or manager any more"
        ),
        r"该市场已于 \1 停业：不再需要自查、专班汇报或登记管理人员",
    ),
    (re.compile(r"market \S+ closed on ([\d-]+)(;.*)?"), r"该市场已于 \1 停业"),
    (
        re.compile(r"(\d+) merchant\(s\) still trade at market \S+; record their leaving first"),
        r"尚有 \1 个商户在经营：请先为每个商户办理退出经营",
    ),
    (re.compile(r"is the stall it trades at \((.*)\)"), r"商户现在就在摊位 \1 经营"),
    (re.compile(r"must not be before the meeting \((.*)\)"), r"不得早于会议召开日期（\1）"),
    (
        re.compile(r"a meeting is recorded once held: not after (.*)"),
        r"会议召开后再记录：不得晚于 \1",
    ),
    # A department member acts on their own department's joint work only
    # (services/campaign/domain/ownership.py): a stale page may still offer another's.
    (
        re.compile(r"action item \S+ is owned by department .* reports done only the items .*"),
        "该议定事项由其他部门负责，只能办结本部门的议定事项",
    ),
    (
        re.compile(r"enforcement case \S+ involves department\(s\) .* only a case their .*"),
        "该案件不涉及本部门，只能处理本部门参与的联合执法案件",
    ),
    (
        re.compile(r"the token of a department member names no department.*"),
        "您的账号未设置所属部门，请联系管理员在统一身份认证中设置后重新登录",
    ),
    (re.compile(r"name at least one department"), "请至少选择一个部门"),
    (re.compile(r"unknown department .*"), "不在部门目录中"),
    (re.compile(r"no district .* is known.*"), "该区不存在"),
    (re.compile(r"no (completed inspection task|accepted complaint) .* is known"), "找不到该来源"),
    # A form sent with a value no list offered (a stale page, or one tampered with).
    (re.compile(r"must be one of finding, complaint"), "请选择案件来源"),
    (re.compile(r"must be one of warning, fine, suspension"), "请选择处罚"),
    (re.compile(r"meeting \S+ has no action item .*"), "找不到该议定事项"),
    (re.compile(r"a date \(YYYY-MM-DD\) is needed"), "必填"),
    (
        re.compile(r"inspection task .* completed with outcome '(\w+)'.*"),
        "只能从检查发现严重问题的任务立案",
    ),
    (
        re.compile(r"the finding of inspection task \S+ was found wrong .*"),
        "该检查结论已经信用异议更正，不能据此立案",
    ),
    (re.compile(r"complaint .* is '(\w+)'; a case is opened .*"), "只能从已受理的投诉立案"),
    (re.compile(r".*(case|it) .*is not closed yet"), "该来源已有未结案的联合执法案件"),
    (re.compile(r"a fine needs its amount.*"), "罚款须填写金额（元）"),
    (re.compile(r"must be an amount in yuan.*"), "应为金额（元），最多两位小数"),
    (re.compile(r"a fine must be more than 0.*"), "罚款金额应大于 0"),
    (re.compile(r"must be at most \d+ yuan"), "金额过大"),
    (re.compile(r"only a fine has an amount"), "只有罚款填写金额"),
    (re.compile(r"a suspension needs its number of days"), "暂停经营须填写天数"),
    (re.compile(r"must be a whole number of days.*"), "应为 1–365 的整数天数"),
    (re.compile(r"only a suspension has days"), "只有暂停经营填写天数"),
    (re.compile(r"must not be after today \((.*)\)"), r"不得晚于今天（\1）"),
    (re.compile(r"must not be before the case was opened \((.*)\)"), r"不得早于立案日期（\1）"),
    (
        re.compile(r"(case|action item) .* is (open|decided|closed|done); cannot .*"),
        "当前状态不允许此操作",
    ),
    (re.compile(r"must be at most (\d+) characters"), r"最多 \1 个字"),
    (re.compile(r".* is not a month YYYY-MM"), "月份格式应为 YYYY-MM"),
    (re.compile(r".* has not ended yet.*"), "该月尚未结束，不能生成"),
    (re.compile(r".* is drawn already: .* cannot be drawn after it"), "已生成更晚月份的榜单"),
    (re.compile(r"no honour rules in force.*|.*has no honour rules"), "该月没有适用的红黑榜规则"),
    (
        re.compile(r"check character is '(.)', GB 32100-2015 gives '(.)'"),
        r"校验位为“\1”，按 GB 32100-2015 应为“\2”",
    ),
    (re.compile(r"must be 18 characters.*", re.I), "应为 18 位"),
    (re.compile(r".*JY.*14 digits.*", re.I), "应为 JY 加 14 位数字"),
    (re.compile(r"licence (has )?expired.*|.*in the past.*", re.I), "许可证已过期"),
    (_REQUIRED, "必填"),
    (
        re.compile(r"contains characters not allowed by GB 32100-2015: (.*)"),
        r"含有 GB 32100-2015 不允许的字符：\1",
    ),
    (re.compile(r"registration authority code '(.)' is not valid"), r"登记管理部门代码“\1”无效"),
    (
        re.compile(r"characters 3-8 must be an administrative division code"),
        "第 3–8 位应为行政区划代码",
    ),
    (re.compile(r"stall .* has a merchant"), "该摊位已有商户"),
    (re.compile(r"must be later than open.*"), "应晚于开市时间"),
    (re.compile(r"a cold_chain terminal needs a profile.*"), "冷链终端须选择冷藏或冷冻"),
    (re.compile(r"only cold_chain terminals have a profile.*"), "只有冷链终端选择温控类型"),
    (re.compile(r"merchant .* trades at stall (.*)"), r"该商户的摊位号是 \1"),
    (re.compile(r"String should have at least 1 character.*|must not be empty"), "必填"),
    (re.compile(r"Input should be greater than 0.*"), "应大于 0"),
    (re.compile(r"Input should be a valid date.*"), "日期格式不正确"),
    # The registry's own words (services/registry/service.py) and the campaign's.
    (re.compile(r"no market .* is registered.*|no market '[^']*'"), "该市场未登记"),
    (re.compile(r"no district with code .*"), "该区不存在"),
    (re.compile(r"no merchant is registered at stall .*"), "该市场此摊位没有登记商户"),
    (re.compile(r"is already the market of this complaint"), "投诉已在该市场，请选择其他市场"),
    (re.compile(r".*linked to a duplicate complaint.*"), "重复投诉及其首件不能移送"),
    (
        re.compile(r"merchant .* is not (in|at) .*|merchant is in market .*|no merchant .*"),
        "该商户不在所选市场",
    ),
    (re.compile(r"String should match pattern.*"), "格式不正确"),
    (re.compile(r".*not in the catalogue.*|unknown finding.*", re.I), "不在检查发现目录中"),
    (re.compile(r".*already claimed.*|state is .*", re.I), "当前状态不允许此操作"),
    # Before the complaints' states: a follow-up closed already says so in its own words.
    (re.compile(r"follow-up .* is closed; cannot close"), "该整改跟进已完成"),
    (re.compile(r".* is (received|accepted|rejected|closed); cannot .*"), "当前状态不允许此操作"),
    (re.compile(r".*cannot be substantiated.*", re.I), "该结果不能认定投诉属实"),
    (re.compile(r".*from 1 to 5.*", re.I), "应为 1–5 分"),
    # A bound of any other number (a 容量 of 0, a course's months): the bound itself, not a rating.
    (re.compile(r".*greater than or equal to (-?\d+(?:\.\d+)?).*", re.I), r"不能小于 \1"),
    (re.compile(r".*less than or equal to (-?\d+(?:\.\d+)?).*", re.I), r"不能大于 \1"),
    (re.compile(r"Input should be a valid number.*", re.I), "应为数字"),
    (re.compile(r"must be from (-?\d+) to (-?\d+) degrees"), r"应在 \1 到 \2 度之间"),
    # Complaints and inspection, now told beside the other problems of the same form.
    (re.compile(r"must be one of pass, minor, major, critical.*"), "请选择检查结果"),
    (re.compile(r"must be one of market_regulation, health, environment.*"), "请从所列部门中选择"),
    (re.compile(r"must not be in the future"), "不能晚于当前时间"),
    (re.compile(r"must carry a timezone"), "须带时区"),
    (re.compile(r"merchant '[^']*' trades at .*"), "该商户不在此摊位"),
    (re.compile(r"must be true or false"), "请选择“是”或“否”"),
    (re.compile(r"is required when about is market"), "请选择市场"),
    (re.compile(r"must be one of market, campaign"), "请选择建议对象"),
    (re.compile(r"only for about=market.*"), "关于全市工作的建议无需选择市场"),
    (re.compile(r"Input should be a valid boolean.*", re.I), "请选择是否属实"),
    (_NO_INTEGER, "应为整数"),
    (re.compile(r"Input should be 'mediated'.*|must be one of mediated.*", re.I), "请选择办结结果"),
    # Operators' duties, task-force reports and training (issue 17).
    (
        re.compile(r"\w+ \(.*\) failed: a note of what was seen is required"),
        "不合格须写明看到的问题",
    ),
    (re.compile(r"\w+ \(.*\) is not answered"), "请选择合格或不合格"),
    (re.compile(r"a self-inspection of (\S+) is already recorded"), r"\1 的自查已记录"),
    (re.compile(r"(\S+) was flagged missed; .*"), r"\1 已记为未自查，不能补录"),
    (re.compile(r"(\S+) \(\w+\) is not an opening day"), r"\1 不是开市日"),
    (re.compile(r"(\S+) is in the future .*"), r"\1 还没到"),
    # A renovation project's quality and safety checks.
    (re.compile(r"(\d{4}-\d{2}-\d{2}) is in the future"), r"\1 还没到，检查日期不能晚于今天"),
    (re.compile(r"a failed check names what was found"), "不合格时须写明发现的问题"),
    (re.compile(r"is before the check"), "整改期限不能早于检查日期"),
    (re.compile(r"only a failed check has a rectification deadline"), "合格的检查没有整改期限"),
    (re.compile(r"checks are recorded once the project is approved.*"), "方案批复后才能记录检查"),
    (re.compile(r"can be recorded back to (\S+), not .*"), r"最早只能补录 \1 的自查"),
    (re.compile(r"closing a follow-up needs a note.*"), "请写明整改情况"),
    (
        re.compile(r"an operator acts for its own market only.*"),
        "市场主办方只能办理本市场的事项",
    ),
    (
        re.compile(r"no campaign and no task force: nothing is due"),
        "该市场尚未成立专班：没有应报的汇报",
    ),
    (re.compile(r"market .* has no reporting schedule"), "该市场尚未成立专班：没有应报的汇报"),
    (re.compile(r"reporting starts on (\S+)"), r"汇报从 \1 开始"),
    (
        re.compile(r"the report for .* was already filed; the next period starts on (\S+)"),
        r"本期汇报已提交，下一期从 \1 开始",
    ),
    (re.compile(r"must be 1 to (\d+) months"), r"应为 1–\1 个月"),
    (
        re.compile(r"the session is held on (\S+); record attendance then"),
        r"该场次 \1 举办，届时再记录",
    ),
    (
        re.compile(r"trainee .* is already recorded at this session"),
        "该人员在本场次已有考核结果",
    ),
    (re.compile(r"no manager .* is registered"), "该管理人员未登记"),
    (re.compile(r"no (such )?(session|course)\b.*"), "找不到该培训场次或课程"),
    (re.compile(r"no such follow-up"), "找不到该整改跟进"),
    (re.compile(r"(String should have )?at most (\d+) characters"), r"最多 \2 个字"),
    # Public exposure, deadline rectification and the consultation on renovation plans (issue 17).
    (re.compile(r"\S+ is before today \((\S+)\)"), r"不得早于今天（\1）"),
    (re.compile(r"must be within \d+ days of today"), "整改期限不得超过一年"),
    (re.compile(r"a problem not fixed needs a note.*"), "未整改到位须写明仍存在的问题"),
    (re.compile(r"exposure .* is resolved already.*"), "该曝光问题已整改，无需再复查"),
    (re.compile(r"must be one of press, public, supervision"), "请选择曝光来源"),
    (re.compile(r"at most (\d+) lines"), r"最多 \1 行"),
    (re.compile(r"no exposure .*|disclosure \S+ is not an exposure"), "找不到该曝光问题"),
    (re.compile(r"no consultation on renovation project .*"), "该项目尚未征求意见"),
    (
        re.compile(r"the project is \w+; it cannot move to .*"),
        "项目阶段已变化，请刷新页面后再操作",
    ),
    (
        re.compile(r"cannot accept the project with unresolved failed checks.*"),
        "还有未整改合格的质量或安全检查，不能验收",
    ),
    (
        re.compile(r"must be one of planned, approved, under_construction, accepted"),
        "请选择项目阶段",
    ),
    (re.compile(r"must be from 1 to 60 days"), "应为 1–60 天"),
    (
        re.compile(r"the consultation is open until (\S+); .*"),
        r"征求意见至 \1 结束，结束后才能推进",
    ),
    (
        re.compile(r"(\d+) comment\(s\) of the consultation are not answered.*"),
        r"还有 \1 条意见未答复，全部答复后才能开工",
    ),
    (re.compile(r"a consultation is open already, until (\S+)"), r"正在征求意见（至 \1）"),
    (
        re.compile(r"the project is \w+; a plan is opened for comment only while planned"),
        "只有计划阶段的改造方案可以征求意见",
    ),
    (
        re.compile(r"the project is \w+; comments are answered before construction"),
        "开工后不能再修改答复",
    ),
]


def reason_zh(reason: str) -> str:
    for pattern, chinese in _REASONS:
        if pattern.fullmatch(reason) or pattern.search(reason):
            return pattern.sub(chinese, reason) if "\\" in chinese else chinese
    return reason


# The provider names a machine client's account `service-account-<client id>` (the operations
# client, an integrator): what it did reads as the system's, not by a technical account name.
MACHINE_ACCOUNT = "service-account-"
SYSTEM = "系统"


def actor_name(actor: Mapping[str, Any] | None) -> str:
    """Who did something (a service's `*_actor`), as staff read it."""
    if not actor:
        return ""
    name = str(actor.get("name") or actor.get("subject") or "")
    return SYSTEM if name.startswith(MACHINE_ACCOUNT) else name


# A reason worded by the field it is about: a 满意度 not picked from its scale is no whole number
# either, yet the handler picks it rather than types it.
_PICKED: Final = {"satisfaction": "请选择满意度"}
# A phone the complaints service does not take (its request's pattern, or the domain's own
# words): what it takes, as a citizen typing it needs to hear rather than 格式不正确.
_PHONE_FIELDS: Final = frozenset({"phone", "complainant.phone"})
_NOT_A_PHONE: Final = re.compile(r"String should match pattern.*|must be a mainland mobile.*")
PHONE_TAKEN: Final = "请填写 11 位手机号码，或带区号的固定电话（如 0535-1234567）"


def field_reason_zh(field: str, reason: str) -> str:
    """A service's reason about `field`, in Chinese."""
    if field in _PICKED and (_NO_INTEGER.fullmatch(reason) or _REQUIRED.fullmatch(reason)):
        return _PICKED[field]
    if field in _PHONE_FIELDS and _NOT_A_PHONE.fullmatch(reason):
        return PHONE_TAKEN
    return reason_zh(reason)


def peak(evidence: Mapping[str, Any], rule: str | None) -> str:
    """A risk's peak with its unit (telemetry's evidence): a temperature, the people in the
    market against its capacity, or the transactions in one reading."""
    value = evidence.get("peak")
    if not isinstance(value, int | float):
        return "—"
    if (rule or "").startswith("cold_chain"):
        return f"{value:g} °C"
    if rule == "crowding":
        capacity = evidence.get("capacity")
        return f"{value:.0f} 人" + (f"（容量 {capacity} 人）" if capacity else "")
    if rule == "transaction_anomaly":
        return f"{value:.0f} 笔"
    return f"{value:g}"


def distance(metres: float) -> str:
    """How far a market is, as a citizen reads it: 约 350 米 (to 10 m), 约 2.4 公里."""
    if round(metres, -1) < 1000:
        return f"约 {max(10, round(metres, -1)):.0f} 米"
    return f"约 {metres / 1000:.1f} 公里"


def label(table: dict[str, str], code: str | None) -> str:
    return table.get(code or "", code or "—")


def objection_outcome(objection: Mapping[str, Any]) -> str:
    """An objection's state in the words of its ground: a repair upheld is 不予修复."""
    table = REPAIR_STATE if objection.get("ground") == "repaired" else OBJECTION_STATE
    return label(table, objection.get("state"))


# The public portal (issue 16).
SUGGESTION_ABOUT: Final = {"market": "关于某个市场", "campaign": "关于全市农贸市场提升工作"}
SUGGESTION_STATE: Final = {
    "received": "已收到",
    "open": "已收到",
    "answered": "已答复",
    "closed": "已办结",
}

# Joint meetings and enforcement (联席会议, 联合执法), the honour and warning list (issue 17).
ITEM_STATE: Final = {"open": "未办结", "done": "已办结"}
CASE_STATE: Final = {"open": "待决定", "decided": "已决定", "closed": "已结案"}
ORIGIN_KIND: Final = {"finding": "检查发现严重问题", "complaint": "投诉"}
SANCTION: Final = {"warning": "警告", "fine": "罚款", "suspension": "暂停经营"}
# The parts of a market's score (考核), as credit names them (services/credit/domain/policy.py's
# COMPONENTS), with what each one rates: the market page explains a score by them, and the
# 考核台账 has a column for each.
ASSESSMENT_PART: Final[dict[str, tuple[str, str]]] = {
    "share_ab": ("A/B 级商户占比", "信用等级为 A、B 的商户 ÷ 已评级商户"),
    "inspection_pass_rate": ("检查合格率", "检查合格 ÷ 完成的检查"),
    "rectification_on_time_rate": ("按期整改率", "按期复查通过的整改 ÷ 期内到期的整改"),
    "complaints_within_limit_rate": ("投诉按期办理率", "按期办理的投诉 ÷ （按期 + 逾期）"),
    # Credit counts the open food-safety risks only (services/credit/service.py): said so, as
    # a market page's own list of open risks counts market-order ones too.
    "open_risks": (
        "未解除食品安全风险",
        "没有未解除的食品安全风险得满分，每 10 户商户 1 项时为 0；客流、交易风险不计",
    ),
    "self_inspection_rate": ("自查率", "已自查的开市日 ÷ 开市日"),
    "report_on_time_rate": ("专班汇报按时率", "按时提交的汇报 ÷ 到期的汇报"),
    "certified_share": ("合格证持证率", "持有效合格证的管理人员 ÷ 管理人员"),
}
HONOUR_LIST: Final = {"honour": "红榜", "warning": "黑榜"}
HONOUR_ENTITY: Final = {"market": "市场", "merchant": "商户"}
# Why a merchant's patrol interval is what it is (inspection's `interval_reason`).
PATROL_REASON: Final = {
    "grade": "按信用等级",
    "default_grade": "未评级，按 B 级",
    "warning_list": "列入黑榜，按 D 级",
}
_PERIOD = re.compile(r"(\d{4}-\d{2})\.\.(\d{4}-\d{2})")
_HONOUR_REASONS: Final = [
    (re.compile(r"grade: (\w+)"), r"信用等级 \1"),
    (re.compile(r"no_findings: none in (.+)"), r"\1 无检查发现问题"),
    (re.compile(r"inspections: (\d+) in (.+)"), r"\2 检查 \1 次"),
    (re.compile(r"critical_findings: (\d+) in (.+)"), r"\2 检查发现严重问题 \1 次"),
    (re.compile(r"overdue_rectifications: (\d+) in (.+)"), r"\2 整改逾期 \1 次"),
    (re.compile(r"score: ([\d.]+) at least ([\d.]+)"), r"考核得分 \1（不低于 \2）"),
    (re.compile(r"score: ([\d.]+) below ([\d.]+)"), r"考核得分 \1（低于 \2）"),
    (re.compile(r"rank: (\d+) of (\d+) in the district"), r"区内考核排名第 \1 / \2"),
]


def honour_reason(reason: str) -> str:
    """A rule an entry of the honour and warning list met (`critical_findings: 2 in
    2026-06..2026-11`), in Chinese (`2026-06 至 2026-11 检查发现严重问题 2 次`)."""
    text = reason.strip()
    for pattern, chinese in _HONOUR_REASONS:
        if pattern.fullmatch(text):
            return _PERIOD.sub(r"\1 至 \2", pattern.sub(chinese, text))
    return text


# Operators' duties, task-force reports and training (自查, 专班汇报, 培训; issue 17).
REPORT_STATE: Final = {
    "on_time": "按时提交",
    "filed_late": "逾期提交",
    "late": "逾期未报",
    "due": "本期待报",
    "upcoming": "未到期",
}
CERTIFICATE_STATUS: Final = {
    "valid": "合格证有效",
    "expiring": "合格证即将到期",
    "expired": "合格证已过期",
    "none": "未取得合格证",
}

# Public exposure and deadline rectification (曝光, 限期整改) and the public consultation on
# renovation plans (征求群众意见), issue 17.
EXPOSURE_SOURCE: Final = {"press": "媒体", "public": "群众", "supervision": "督查"}
DISCLOSURE_KIND: Final = {
    "late_milestone": "创建工作节点逾期",
    "failed_check": "改造工程检查不合格",
    "overdue_rectification": "逾期未整改",
    "exposure": "曝光",
}
RENOVATION_STAGE: Final = {
    "planned": "计划",
    "approved": "已批复",
    "under_construction": "施工中",
    "accepted": "已验收",
}
RENOVATION_KIND: Final = {"old_market_upgrade": "老旧市场提升改造", "new_market": "新建市场"}
# A renovation project's checks (改造工程的质量、安全检查).
CHECK_KIND: Final = {"quality": "质量", "safety": "安全"}
SCOPE_AREA: Final = {
    "infrastructure": "基础设施",
    "hygiene": "环境卫生",
    "layout": "布局",
    "equipment": "设施设备",
    "other": "其他",
}
FUNDING_SOURCE: Final = {"fiscal": "财政资金", "ppp": "PPP", "special_fund": "专项基金"}


# Alerts for the operators (issue 21): deploy/prometheus/alerts.yml's names and severities.
ALERT_STATUS: Final = {"firing": "告警中", "resolved": "已恢复"}
# An alert's `service` label, in the words of the work each service does; the page shows the
# code beside it, as the runbook, the logs and `make tail` name it.
SERVICE: Final = {
    "registry": "登记备案",
    "telemetry": "实时监测",
    "inspection": "巡查检查",
    "complaints": "投诉处理",
    "credit": "信用评价",
    "campaign": "提升行动",
    "console": "工作台",
}
ALERT_SEVERITY: Final = {"critical": "严重", "warning": "警告", "info": "提示"}
ALERT_NAME: Final = {
    "SentinelServiceDown": "服务不可用",
    "SentinelHttpErrors": "接口错误率高",
    "SentinelConsumerLagGrowing": "消费积压增长",
    "SentinelConsumerLagHigh": "消费积压过高",
    "SentinelDeadLetters": "出现死信消息",
    "SentinelConsumerStalled": "消费停滞",
    "SentinelConsumerFeedBroken": "消息接收中断",
    "SentinelHandlerRetrying": "处理反复重试",
    "SentinelOutboxBacklog": "事件发件箱积压",
    "SentinelOutboxStalled": "事件发件箱停滞",
    "SentinelReadingRejectionRateHigh": "读数拒收率高",
    "SentinelNoReadings": "未收到终端读数",
    "SentinelRiskRateSpiking": "风险数量激增",
    "SentinelCriticalRisksOpen": "存在严重风险",
    "SentinelRectificationsOverdueGrowing": "逾期整改增加",
    "SentinelInspectionTasksOverdue": "检查任务逾期",
    "SentinelOverdueRectificationsGrowing": "逾期整改增长",
    "SentinelComplaintsOverdue": "投诉处理逾期",
    "SentinelObjectionsOverdue": "信用异议逾期未决",
}
