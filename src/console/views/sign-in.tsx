import { Layout, Notice } from './layout';
import { consolePath } from '../paths';

export function SignInPage(p: { next: string; error?: string }) {
  return (
    <Layout title="Sign in" nav={null}>
      {p.error && (
        <Notice kind="error">
          <p>{p.error}</p>
        </Notice>
      )}
      <form method="post" action={consolePath('signIn')} class="narrow">
        <input type="hidden" name="next" value={p.next} />
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
        <p class="muted">
          The <code>ADMIN_TOKEN</code> Worker secret. It is exchanged for a session cookie that lasts 12 hours and works only in this console.
        </p>
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  );
}
