/** The client's IP as Cloudflare saw it; `unknown` locally, where there is no such header. */
export function clientIp(request: Request): string {
  return request.headers.get('cf-connecting-ip') ?? 'unknown';
}
