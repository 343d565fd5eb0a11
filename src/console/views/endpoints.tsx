import type { EndpointHealth } from '../../deliveries/stats';
import type { DeliverySummary } from '../../deliveries/store';
import type { StoredEndpoint } from '../../endpoints/schema';
import type { WebhookUrl } from '../../endpoints/url';
import type { Preset } from '../../presets';
import type { PreviewResult } from '../../pipeline/preview';
import { PreviewResultView } from './deliveries';
import { Csrf, Issues, Layout, Notice, Time } from './layout';
import { consolePath, consolePathWith } from '../paths';

type Issue = { path: string; message: string };

export function EndpointsPage(p: { endpoints: StoredEndpoint[]; health: Map<string, EndpointHealth>; held: Map<string, number>; csrf: string }) {
  return (
    <Layout title="Endpoints" nav="endpoints" csrf={p.csrf}>
      <p>
        <a class="button" href={consolePath('newEndpoint')}>
          New endpoint
        </a>
      </p>
      {p.endpoints.length === 0 ? (
        <p class="muted">No endpoint yet.</p>
      ) : (
        <ul class="cards">
          {p.endpoints.map((e) => {
            const h = p.health.get(e.id);
            const rate = h?.rate == null ? 'no deliveries in 24 h' : `${Math.round(h.rate * 1000) / 10}% succeeded in 24 h (${h.ok} of ${h.ok + h.failed})`;
            return (
              <li>
                <a href={consolePath('endpoint', { id: e.id })}>
                  <strong>{e.id}</strong>
                </a>{' '}
                <span class={`status g-${e.config.enabled ? 'ok' : 'other'}`}>{e.config.enabled ? 'enabled' : 'paused'}</span>
                {(p.held.get(e.id) ?? 0) > 0 && (
                  <div>
                    <a href={consolePathWith('deliveries', { endpoint: e.id, status: 'held' })}>{`${p.held.get(e.id)} held until it is enabled again`}</a>
                  </div>
                )}
                <div>
                  {e.config.name}
                  {e.config.preset ? ` · preset ${e.config.preset}` : ''}
                </div>
                <div class={h && h.failed > 0 ? 'bad' : 'muted'}>{rate}</div>
                <div>
                  <a href={consolePathWith('deliveries', { endpoint: e.id, range: '24h' })}>Deliveries</a>
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </Layout>
  );
}

export type EditorProps = {
  csrf: string;
  /** null for a new endpoint (the id is typed in). */
  endpoint: StoredEndpoint | null;
  id: string;
  configText: string;
  issues: Issue[];
  warnings: string[];
  saved?: 'created' | 'saved';
  url: WebhookUrl | null;
  preset?: Preset;
  recent: DeliverySummary[];
  sample: { text: string; contentType: string; delivery: string };
  preview: PreviewPaneProps;
};

export type PreviewPaneProps = { result?: PreviewResult; issues?: Issue[]; refusal?: string };

/** The preview pane (also answered alone, as a fragment, to the page's script). */
export function PreviewPane(p: PreviewPaneProps) {
  return (
    <div id="preview" aria-live="polite">
      {p.refusal && (
        <Notice kind="error">
          <p>{p.refusal}</p>
        </Notice>
      )}
      {p.issues && p.issues.length > 0 && (
        <Notice kind="error">
          <p>Fix the configuration to see the preview.</p>
        </Notice>
      )}
      {p.result ? <PreviewResultView result={p.result} /> : !p.refusal && !p.issues?.length && <p class="muted">Paste a sample payload or pick a recent delivery, then Preview.</p>}
    </div>
  );
}

/** The whole URL to copy, what else the sender must be told, and the preset's recipe. */
function UrlSection(p: Pick<EditorProps, 'url' | 'preset' | 'endpoint'> & { url: NonNullable<EditorProps['url']> }) {
  return (
    <section class="url">
      <label for="url">Webhook URL, to paste into the sender</label>
      <div class="copy">
        <input id="url" readonly value={p.url.url} />
        <button type="button" data-copy="url">
          Copy
        </button>
      </div>
      {p.url.howToSend && <p class="how-to-send">{p.url.howToSend}</p>}
      {p.preset && (
        <p class="recipe">
          <strong>{p.preset.title}:</strong> {p.preset.recipe}
          {p.preset.source !== 'sender docs' ? ` (${p.preset.source})` : ''}
        </p>
      )}
      {p.endpoint && (
        <p class="muted">
          Revision {p.endpoint.revision}, saved <Time ms={p.endpoint.updatedAt} />
        </p>
      )}
    </section>
  );
}

/** The sample to preview with (a recent delivery, or one pasted) and the preview itself. */
function PreviewSection(p: Pick<EditorProps, 'recent' | 'sample' | 'preview'> & { action: string }) {
  return (
    <div class="pane">
      <h2>Preview</h2>
      <label for="delivery">A recent delivery (a sample typed below wins)</label>
      <select id="delivery" name="delivery">
        <option value="">none: use the sample below</option>
        {p.recent.map((d) => (
          <option value={d.id} selected={p.sample.delivery === d.id}>{`${d.receivedAt.slice(0, 19).replace('T', ' ')} UTC · ${d.status} ${d.customerId ?? ''}`}</option>
        ))}
      </select>
      <label for="sample">Sample payload</label>
      <textarea id="sample" name="sample" rows={10} spellcheck={false}>
        {p.sample.text}
      </textarea>
      <label for="contentType">Content type</label>
      <input id="contentType" name="contentType" value={p.sample.contentType} />
      <p>
        <button type="submit" formaction={p.action} class="secondary">
          Preview
        </button>{' '}
        <span class="muted">Updates as you type. No CRM call, nothing logged.</span>
      </p>
      <PreviewPane {...p.preview} />
    </div>
  );
}

export function EditorPage(p: EditorProps) {
  const action = p.endpoint ? consolePath('endpoint', { id: p.endpoint.id }) : consolePath('endpoints');
  const preview = p.endpoint ? consolePath('endpointPreview', { id: p.endpoint.id }) : consolePath('newEndpointPreview');
  return (
    <Layout title={p.endpoint ? `Endpoint ${p.endpoint.id}` : 'New endpoint'} nav="endpoints" csrf={p.csrf}>
      {p.saved && (
        <Notice kind="ok">
          <p>{p.saved === 'created' ? 'Endpoint created.' : 'Configuration saved. Running isolates pick it up within about a minute.'}</p>
        </Notice>
      )}
      {p.warnings.length > 0 && (
        <Notice kind="warn">
          <ul>
            {p.warnings.map((w) => (
              <li>{w}</li>
            ))}
          </ul>
        </Notice>
      )}
      {p.url && <UrlSection url={p.url} preset={p.preset} endpoint={p.endpoint} />}
      <form method="post" action={action} class="editor" id="editor" data-preview={preview}>
        <Csrf token={p.csrf} />
        <div class="pane">
          {!p.endpoint && (
            <label>
              Endpoint id <input name="id" value={p.id} required pattern="[a-z0-9][a-z0-9\-]{0,63}" autocomplete="off" />
            </label>
          )}
          <label for="config">Configuration (JSON)</label>
          <textarea id="config" name="config" rows={24} spellcheck={false} aria-describedby="config-issues" aria-invalid={p.issues.length > 0 ? 'true' : undefined}>
            {p.configText}
          </textarea>
          <Issues id="config-issues" issues={p.issues} />
          <p>
            <button type="submit">{p.endpoint ? 'Save' : 'Create'}</button>
          </p>
        </div>
        <PreviewSection recent={p.recent} sample={p.sample} preview={p.preview} action={preview} />
      </form>
    </Layout>
  );
}
