/**
 * Every console path in one place: the routes (./index.tsx) are registered from these patterns and every
 * link, form action and preview target in the views is built from the same ones, so they cannot drift apart.
 * The page for a new endpoint is `_new`: an endpoint id never starts with `_`, so no endpoint can hide it.
 */
export const CONSOLE_BASE = '/console';

/** Route patterns, relative to CONSOLE_BASE (Hono's `:param` syntax). */
export const ROUTES = {
  overview: '/',
  crmResume: '/crm/resume',
  problemAcknowledge: '/problems/:id/acknowledge',
  problemResolve: '/problems/:id/resolve',
  crmConnect: '/crm',
  catalogue: '/crm/fields',
  catalogueField: '/crm/fields/field',
  catalogueRemove: '/crm/fields/remove',
  cataloguePaste: '/crm/fields/paste',
  signIn: '/sign-in',
  signOut: '/sign-out',
  language: '/language',
  static: '/static/*',
  deliveries: '/deliveries',
  bulkReplay: '/deliveries/replay',
  delivery: '/deliveries/:id',
  deliveryPreview: '/deliveries/:id/preview',
  deliveryReplay: '/deliveries/:id/replay',
  deliveryAccept: '/deliveries/:id/accept',
  deliveryCreated: '/deliveries/:id/created',
  deliveryCreate: '/deliveries/:id/create',
  endpoints: '/endpoints',
  newEndpoint: '/endpoints/_new',
  newEndpointPreview: '/endpoints/_new/preview',
  endpoint: '/endpoints/:id',
  endpointPreview: '/endpoints/:id/preview',
  endpointTest: '/endpoints/:id/test',
  endpointSecret: '/endpoints/:id/secret',
  endpointTrends: '/endpoints/:id/trends',
  endpointVersions: '/endpoints/:id/versions',
  endpointRestore: '/endpoints/:id/versions/:n/restore',
  team: '/team',
  teamSet: '/team/set',
  teamRemove: '/team/remove',
  audit: '/audit',
  customerKeys: '/customer-keys',
  customerKeysImport: '/customer-keys/import',
} as const;

export type RouteName = keyof typeof ROUTES;

type ParamsOf<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamsOf<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;
type ArgsOf<K extends RouteName> = [ParamsOf<(typeof ROUTES)[K]>] extends [never]
  ? []
  : [params: Record<ParamsOf<(typeof ROUTES)[K]>, string>];

/**
 * The absolute path of a console page, with its parameters encoded; a query string may follow.
 * @example consolePath('delivery', { id }) // "/console/deliveries/01m8…"
 */
export function consolePath<K extends RouteName>(name: K, ...args: ArgsOf<K>): string {
  const params = (args[0] ?? {}) as Record<string, string>;
  const path = ROUTES[name].replace(/:([a-z]+)/g, (_, key: string) => encodeURIComponent(params[key] ?? ''));
  return path === '/' ? CONSOLE_BASE : CONSOLE_BASE + path;
}

/** `consolePath` with a query string built from the defined values of `query`. */
export function consolePathWith<K extends RouteName>(
  name: K,
  query: Record<string, string | undefined>,
  ...args: ArgsOf<K>
): string {
  const search = new URLSearchParams(
    Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  ).toString();
  const path = consolePath(name, ...args);
  return search ? `${path}?${search}` : path;
}

/** A static file of the console (assets/console/static/). */
export const assetPath = (file: 'app.css' | 'app.js' | 'favicon.svg') => `${CONSOLE_BASE}/static/${file}`;
