// The console's progressive enhancement: local times, copy buttons and the live preview.
// Every page works without it; nothing here builds HTML from data (the server renders and escapes).
(() => {
  // the reader's own time, with its zone named (the server's text says UTC): never a bare time of unknown zone
  // (dateStyle/timeStyle cannot be combined with timeZoneName: the fields are named one by one)
  const local = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
  // chart labels: day, hour and minute (the zone still named); options of the delivery picker keep their suffix
  const short = new Intl.DateTimeFormat(undefined, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
  for (const t of document.querySelectorAll('time[datetime]')) {
    const d = new Date(t.getAttribute('datetime'));
    if (!Number.isNaN(d.getTime())) { t.title = t.textContent; t.textContent = (t.dataset.style === 'short' ? short : local).format(d); }
  }
  for (const o of document.querySelectorAll('option[data-time]')) {
    const d = new Date(o.dataset.time);
    if (!Number.isNaN(d.getTime())) o.textContent = `${local.format(d)}${o.dataset.suffix ?? ''}`;
  }

  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.addEventListener('click', async () => {
      const input = document.getElementById(button.dataset.copy);
      input.select();
      try { await navigator.clipboard.writeText(input.value); button.textContent = button.dataset.copied || '✓'; } catch { document.execCommand('copy'); }
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
    const config = form.elements.config;
    config.setAttribute('aria-invalid', doc.querySelector('#config-issues .notice') ? 'true' : 'false');
    // the form's document, shown in the JSON (advanced) while the form is what is edited
    const json = document.getElementById('config-json');
    if (json && form.elements.editing.value === 'form') config.value = json.content.textContent;
    // the sample's fields become the choices of every source picker (the chosen one is kept)
    const list = document.getElementById('sample-fields');
    const paths = list ? JSON.parse(list.dataset.paths || '[]') : [];
    for (const select of form.querySelectorAll('select.source-field')) {
      const keep = select.value;
      const none = select.options[0];
      select.replaceChildren(none, ...[...new Set([keep, ...paths])].filter(Boolean).map((p) => new Option(p, p, false, p === keep)));
    }
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(refresh, 350); };
  // typing in the JSON makes it what is previewed and saved; touching the form makes the form so
  form.addEventListener('input', (e) => {
    const name = e.target.name || '';
    if (name === 'config') form.elements.editing.value = 'json';
    else if (name && !['sample', 'contentType', 'delivery', '_csrf'].includes(name)) form.elements.editing.value = 'form';
    if (name !== 'delivery') later();
  });
  form.addEventListener('change', (e) => { if (e.target.tagName === 'SELECT' || e.target.type === 'checkbox') later(); });
})();
