/**
 * The stand-in CRM's state: tenants (product lines) with customers kept in memory, the update
 * semantics of each mode, and scripted failures. Pure data and functions; `server.ts` puts HTTP around it.
 */

/** How the CRM treats fields an update leaves out (the real one's behaviour is undocumented). */
export type UpdateMode = 'merge' | 'replace' | 'reassign-owner';

/** A scripted answer, consumed by the next CRM call of its tenant. */
export type Failure =
  | { http: number; body?: string; retryAfter?: number }
  | { code: number; message?: string }
  | { garbage: true }
  | { delayMs: number }
  | { hang: true }
  | { drop: true };

export type Customer = Record<string, unknown> & { id: string };

export type RecordedRequest = {
  at: string;
  path: string;
  headers: Record<string, string>;
  rawBody: string;
  body: unknown;
  /** applied: the update happened; refused: answered with code != 200; scripted: a scripted failure answered. */
  outcome: 'applied' | 'refused' | 'scripted';
};

export type Tenant = {
  productLineId: string;
  /** The product line's name, as `/api/productLine/lists` shows it. */
  name?: string;
  moduleId: string;
  mode: UpdateMode;
  /** The CRM user the API token belongs to: an update without own_id may hand customers to them. */
  apiUserId: string;
  customers: Map<string, Customer>;
  failures: Failure[];
  requests: RecordedRequest[];
  /**
   * CRM calls being answered right now, and the most there ever were at once (the adapter's limits are checked against
   * it).
   */
  inFlight: number;
  maxInFlight: number;
};

export const DEFAULT_MODULE_ID = '347772778973233152';
export const DEFAULT_API_USER = '400000000000000001';
const MAX_RECORDED = 2000;

export const USERS: Record<string, { id: string; name: string; avatar_url: string }> = {
  [DEFAULT_API_USER]: { id: DEFAULT_API_USER, name: 'API 用户', avatar_url: '' },
  '400000000000000002': { id: '400000000000000002', name: '销售小王', avatar_url: '' },
  '400000000000000003': { id: '400000000000000003', name: '销售小李', avatar_url: '' },
};

export const SOURCES: Record<string, string> = {
  '514465485002113024': '官网表单',
  '514465485002113025': '巨量引擎',
  '514465485002113026': '小红书',
};

/** The names of the example installation's custom select options (answers expand a set select as `{id, name}`). */
export const SELECT_OPTIONS: Record<string, string> = {
  '484020435193692160': '高意向',
  '484020435193692161': '中意向',
  '484020435193692162': '低意向',
};

/** The fields a user can edit; `replace` mode blanks the ones an update leaves out. */
const EDITABLE = /^(name|phone|note|source|tags|(input|textarea|select|radio|checkbox|date|number)_\d+)$/;
const SYSTEM_FIELDS = new Set(['mid', 'id']);

function blankOf(field: string): unknown {
  if (field === 'tags' || field.startsWith('select_') || field.startsWith('checkbox_')) return [];
  if (field === 'source') return null;
  return '';
}

export function newTenant(
  productLineId: string,
  init: Partial<Omit<Tenant, 'customers' | 'productLineId'>> & { customers?: Customer[] } = {},
): Tenant {
  const now = timestamp();
  return {
    productLineId,
    ...(init.name ? { name: init.name } : {}),
    moduleId: init.moduleId ?? DEFAULT_MODULE_ID,
    mode: init.mode ?? 'merge',
    apiUserId: init.apiUserId ?? DEFAULT_API_USER,
    failures: [...(init.failures ?? [])],
    requests: [],
    inFlight: 0,
    maxInFlight: 0,
    customers: new Map(
      (init.customers ?? []).map((c) => [c.id, { created_at: now, updated_at: now, own_id: DEFAULT_API_USER, ...c }]),
    ),
  };
}

export function record(tenant: Tenant, entry: RecordedRequest) {
  tenant.requests.push(entry);
  if (tenant.requests.length > MAX_RECORDED) tenant.requests.splice(0, tenant.requests.length - MAX_RECORDED);
}

function timestamp(): string {
  return new Date().toISOString().replace('T', ' ').slice(0, 19);
}

export type Envelope = { code: number; message: string; data: { item: Record<string, unknown> } | [] | null };

// PHP-style, like the real backend: an empty `data` is serialised as [] (an empty array), not {} or null
const refuse = (code: number, message: string): Envelope => ({ code, message, data: [] });

/** The customer as the CRM answers it: ids as strings, references expanded into objects, empty values as null or []. */
export function expand(customer: Customer, tenant: Tenant): Record<string, unknown> {
  const { id, ...rest } = customer;
  const item: Record<string, unknown> = {
    id,
    title: customer.name ?? '',
    product_line_id: tenant.productLineId,
    name: null,
    phone: null,
    note: null,
    source: [],
    tags: [],
    is_public: 0,
    is_clue: 0,
    clue_id_unique: null,
    is_lock: 0,
    _can_edit: true,
    _can_del: true,
    ...rest,
  };
  const user = (id: unknown) =>
    typeof id === 'string' && USERS[id] ? USERS[id] : id ? { id, name: '', avatar_url: '' } : null;
  item.own_id = user(customer.own_id);
  item.last_own_id = user(customer.last_own_id);
  item.created_id = user(customer.created_id ?? tenant.apiUserId);
  item.updated_id = user(customer.updated_id ?? tenant.apiUserId);
  const source = customer.source;
  item.source =
    typeof source === 'string' && source
      ? { id: source, name: SOURCES[source] ?? '', group_id: '0', is_active: 1, color: '', sort_num: 0, is_default: 0 }
      : [];
  for (const [key, value] of Object.entries(item)) {
    if (value === '' && EDITABLE.test(key)) item[key] = null;
    else if (/^(select|radio)_\d+$/.test(key) && typeof value === 'string' && SELECT_OPTIONS[value])
      item[key] = { id: value, name: SELECT_OPTIONS[value] };
  }
  return item;
}

/** Applies `POST /api/moduleData/update` to a tenant, as the CRM would under the tenant's mode. */
export function applyUpdate(tenant: Tenant, body: unknown): Envelope {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return refuse(400, '请求体必须是 JSON 对象');
  const input = body as Record<string, unknown>;
  if (input.mid === undefined || input.mid === '') return refuse(422, 'mid 不能为空');
  if (input.id === undefined || input.id === '') return refuse(422, 'id 不能为空');
  // The adapter must send ids as decimal strings; a JSON number above 2^53 has already lost digits.
  for (const key of ['mid', 'id', 'own_id', 'source']) {
    const v = input[key];
    if (v !== undefined && !(typeof v === 'string' && /^\d+$/.test(v)))
      return refuse(422, `${key} 必须是十进制字符串 id`);
  }
  if (input.mid !== tenant.moduleId) return refuse(404, '模块不存在');
  const existing = tenant.customers.get(input.id as string);
  if (!existing) return refuse(404, '数据不存在或已删除');
  if (typeof input.own_id === 'string' && !USERS[input.own_id]) return refuse(422, '所属人不存在');

  const next: Customer = { ...existing };
  if (tenant.mode === 'replace') {
    for (const key of Object.keys(next)) if (EDITABLE.test(key) && !(key in input)) next[key] = blankOf(key);
  }
  for (const [key, value] of Object.entries(input)) if (!SYSTEM_FIELDS.has(key)) next[key] = value;
  if (tenant.mode === 'reassign-owner' && input.own_id === undefined && existing.own_id !== tenant.apiUserId) {
    next.last_own_id = existing.own_id;
    next.own_id = tenant.apiUserId;
    next.assign_at = timestamp();
  }
  next.updated_at = timestamp();
  next.updated_id = tenant.apiUserId;
  tenant.customers.set(next.id, next);
  return { code: 200, message: '', data: { item: expand(next, tenant) } };
}

/** The path the stand-in answers as the CRM web app's own "add customer" call (what CRM_CREATE_PATH names). */
export const CREATE_PATH = '/api/moduleData/add';

let created = 0n;
/** A new snowflake-sized id (above 2^53), as a decimal string, distinct within this process. */
function newCustomerId(): string {
  created += 1n;
  return (790000000000000000n + BigInt(Date.now() % 1_000_000) * 1000n + created).toString();
}

/**
 * Applies the create call: a body like update's without `id`; answers like update (`data.item`, the new id a string),
 * its refusals PHP-style (`data: []`). A phone already held by another customer is refused, as CRMs do.
 */
export function applyCreate(tenant: Tenant, body: unknown): Envelope {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return refuse(400, '请求体必须是 JSON 对象');
  const input = body as Record<string, unknown>;
  if (input.mid === undefined || input.mid === '') return refuse(422, 'mid 不能为空');
  if (input.id !== undefined) return refuse(422, '新建数据不能带 id');
  if (input.mid !== tenant.moduleId) return refuse(404, '模块不存在');
  for (const key of ['mid', 'own_id', 'source']) {
    const v = input[key];
    if (v !== undefined && !(typeof v === 'string' && /^\d+$/.test(v)))
      return refuse(422, `${key} 必须是十进制字符串 id`);
  }
  if (
    typeof input.phone === 'string' &&
    input.phone !== '' &&
    [...tenant.customers.values()].some((c) => c.phone === input.phone)
  ) {
    return refuse(409, `手机号 ${input.phone} 已存在`);
  }
  const now = timestamp();
  const customer: Customer = {
    id: newCustomerId(),
    created_at: now,
    updated_at: now,
    own_id: tenant.apiUserId,
    created_id: tenant.apiUserId,
  };
  for (const [key, value] of Object.entries(input)) if (!SYSTEM_FIELDS.has(key)) customer[key] = value;
  tenant.customers.set(customer.id, customer);
  return { code: 200, message: '', data: { item: expand(customer, tenant) } };
}

/** Answers `POST /api/productLine/lists` (keyword in name; the vendor's paged envelope; ids as given, strings here). */
export function productLines(tenants: Tenant[], text: string): unknown {
  let keyword = '';
  try {
    keyword = String((JSON.parse(text) as { conditions?: { keyword?: unknown } }).conditions?.keyword ?? '');
  } catch {
    keyword = '';
  }
  const data = tenants
    .map((t, i) => ({
      id: t.productLineId,
      name: t.name ?? `产品线 ${t.productLineId.slice(-4)}`,
      note: '',
      is_default: i === 0 ? 1 : 0,
      open_sea_rule: {},
      users: [],
    }))
    .filter((l) => l.name.includes(keyword) || l.note.includes(keyword));
  return { code: 200, data: { items: { current_page: 1, per_page: 100, data: data.slice(0, 100) } }, message: '' };
}

/** Answers `POST /api/crm/client/detail` (form-encoded `mid`, `id`). */
export function readDetail(tenant: Tenant, form: URLSearchParams): Envelope {
  const mid = form.get('mid');
  const id = form.get('id');
  if (!mid) return refuse(422, 'mid 不能为空');
  if (!id) return refuse(422, 'id 不能为空');
  if (mid !== tenant.moduleId) return refuse(404, '模块不存在');
  const customer = tenant.customers.get(id);
  if (!customer) return refuse(404, '数据不存在或已删除');
  return { code: 200, message: '', data: { item: expand(customer, tenant) } };
}
