import { sentences } from '../../shared/text';
/**
 * Each preset's recipe in Chinese, as the console shows it to a marketer beside the URL (pointing to the console's
 * own fields, not to wrangler or /admin). Kept here, not in the presets: the webhook Worker never ships them. A
 * preset without one fails test/presets.test.ts.
 */
export const RECIPES_ZH: Record<string, string> = {
  automation: sentences(
    '在 Make / n8n / Pipedream 的流程里加一个 HTTP 请求：',
    '方法 POST，地址填这个接收地址，请求头 X-Webhook-Token 填密钥值（在本页“设置密钥”里设置），请求体选 JSON，',
    '每个字段一个键（crm_id、name、phone……）。',
    'Make 用“HTTP > Make a request”，n8n 用“HTTP Request”节点（打开 Send Headers 和 Send Body），',
    'Pipedream 用 HTTP 请求步骤。',
    '然后在下面按你起的键名对应字段。',
  ),
  'google-ads-lead-form': sentences(
    'Google Ads > 潜在客户表单素材 > 潜在客户递送 > Webhook 集成：',
    '把地址粘贴为“Webhook 网址”，“密钥”填一串随机字符，并在本页“设置密钥”里填入同一串；再点“发送测试数据”：',
    '测试线索（is_test: true）会回答 200，推送记录里显示为已跳过。',
  ),
  'html-form': sentences(
    '在你的网站表单里：<form method="post" action="接收地址?token=密钥值">，',
    '并加一个隐藏的 <input name="website" style="display:none"> 防机器人；',
    '需要感谢页就设置 redirect，防刷可开 turnstile，用 fetch() 提交要设置 cors。',
  ),
  jiandaoyun: sentences(
    '简道云 > 表单 > 扩展功能 > 数据推送：',
    '粘贴地址，勾选要推送的事件（新增/修改/恢复数据），并设置“密钥”（与本页“设置密钥”里的值相同）。',
    '用 data.<别名> 或 data.<控件 ID> 对应字段；删除等其他事件会记为已跳过。',
  ),
  jinshuju: sentences(
    '金数据 > 表单 > 设置 > 数据推送（Webhook）：',
    '粘贴上面的完整地址（令牌已在地址里，或把 <JINSHUJU_TOKEN> 换成本页“设置密钥”里的值），数据格式选 JSON。',
    '用 entry.field_1（或 entry.field1）对应字段；多选题是数组，地址题是对象，另有一行文字 entry.field_N_text。',
    '金数据连续 6 次推送失败会停止推送，且不补发中间的数据：这个预设先收下再排队推送（立即回答 200）。',
  ),
  'ocean-engine': sentences(
    '巨量引擎 > 线索通（飞鱼）> 线索推送 / 数据推送：粘贴带 ?token= 的完整地址；',
    '平台会先发一个 verify_webhook 校验请求，这里自动回答。',
    '用应用密钥签名（X-Douyin-Signature）的推送也可以改为校验签名。',
    '对应字段：name、telephone、remark_dict.<问题>。',
    '线索字段来自第三方说明，请核对最初几条推送记录。',
  ),
  tally: sentences(
    'Tally > 你的表单 > Integrations > Webhooks > Connect：粘贴地址，并设置签名密钥（与本页“设置密钥”里的值相同）。',
    '用 fields.<题目标题>（例如 fields.Phone）或 fields.<题目 key> 对应字段。',
  ),
  typeform: sentences(
    'Typeform > 你的表单 > Connect > Webhooks > Add a webhook：',
    '粘贴地址，再在 Edit > Secret 填入与本页“设置密钥”相同的值。',
    '给每个问题起一个好读的 ref，用 answers.<ref> 对应字段；隐藏字段是 hidden.<名字>。',
  ),
  webflow: sentences(
    'Webflow > Site settings > Apps & integrations > Webhooks > Add webhook：',
    '触发类型选“Form submission”，粘贴带 ?token= 的完整地址（控制台里的“显示带令牌的完整地址”）。',
    '用 data.`<字段标签>` 对应字段（标签有空格时用反引号）。',
    '通过 Webflow API 创建的 webhook 带签名，可改为校验签名。',
  ),
  xiaohongshu: sentences(
    '小红书聚光 > 工具 > 线索 > 线索推送（API/Webhook）：粘贴地址，令牌填本页“设置密钥”里的值。',
    '用 fields.`姓名`、fields.`手机号` 对应字段。',
    '签名方式来自第三方说明：请核对最初几条推送记录。',
  ),
  zapier: sentences(
    'Zapier > 动作“Webhooks by Zapier”> POST：',
    'URL 填这个接收地址，Payload Type 选 json 或 form，Data 每行一个字段（crm_id、name、phone……），',
    'Basic Auth 填 zapier|密钥值（本页“设置密钥”里的值）。',
    'Zapier 会丢掉空值，没传的字段就不更新。',
  ),
  feiyu: '', // its recipe is Chinese already (src/presets/feiyu.ts)
};
