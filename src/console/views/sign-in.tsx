import { Layout, Notice } from './layout';
import { consolePath } from '../paths';
import { useT } from '../i18n';

export function SignInPage(p: { next: string; error?: string }) {
  const t = useT();
  return (
    <Layout title={t.signIn.title} nav={null}>
      {p.error && (
        <Notice kind="error">
          <p>{p.error}</p>
        </Notice>
      )}
      <form method="post" action={consolePath('signIn')} class="narrow">
        <input type="hidden" name="next" value={p.next} />
        <label for="token">{t.signIn.token}</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
        <p class="muted">{t.signIn.help}</p>
        <button type="submit">{t.signIn.submit}</button>
      </form>
    </Layout>
  );
}
