// The console's progressive enhancement: local times, copy buttons and the live preview.
// Every page works without it; nothing here builds HTML from data (the server renders and escapes).
(() => {
  // the reader's own time, with its zone named (the server's text says UTC): never a bare time of unknown zone
  // (dateStyle/timeStyle cannot be combined with timeZoneName: the fields are named one by one)
  const local = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
  for (const t of document.querySelectorAll('time[datetime]')) {
    const d = new Date(t.getAttribute('datetime'));
    if (!Number.isNaN(d.getTime())) { t.title = t.textContent; t.textContent = local.format(d); }
  }

  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.addEventListener('click', async () => {
      const input = document.getElementById(button.dataset.copy);
      input.select();
      try { await navigator.clipboard.writeText(input.value); button.textContent = 'Copied'; } catch { document.execCommand('copy'); }
    });
  }

  const form = document.getElementById('editor');
  if (!form || !form.dataset.preview) return;
  let timer = 0;
  let seq = 0;
  const refresh = async () => {
    const mine = ++seq;
    const body = new URLSearchParams(new FormData(form));
    const res = await fetch(form.dataset.preview, {
      method: 'POST', body, credentials: 'same-origin',
      headers: { 'x-csrf-token': body.get('_csrf'), 'x-console-fragment': 'preview' },
    });
    if (mine !== seq || !res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    for (const id of ['config-issues', 'preview']) {
      const fresh = doc.getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(fresh);
    }
    document.getElementById('config').setAttribute('aria-invalid', doc.querySelector('#config-issues .notice') ? 'true' : 'false');
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(refresh, 350); };
  for (const name of ['config', 'sample', 'contentType']) form.elements[name]?.addEventListener('input', later);
  form.elements.delivery?.addEventListener('change', refresh);
})();
