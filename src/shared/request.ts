/** The client's IP as Cloudflare saw it; `unknown` locally, where there is no such header. */
export function clientIp(request: Request): string {
  return request.headers.get('cf-connecting-ip') ?? 'unknown';
}

/**
 * The network a client's address stands for, for throttling: an IPv4 address itself, an IPv6 address its /64 (one
 * household or server is given a whole /64, and could rotate through it); an IPv4-mapped IPv6 address its IPv4.
 */
export function clientNetwork(request: Request): string {
  return networkOf(clientIp(request));
}

export function networkOf(ip: string): string {
  if (!ip.includes(':')) return ip;
  const mapped = /^(?:(?:0{1,4}:){5}|::)ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = ip.toLowerCase().split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return ip;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
