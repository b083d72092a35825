// The server's own page: sends an image to this server's /predict and shows what it answers. Plain browser
// JavaScript (no build step, no dependencies); every request goes to this server only.

const $ = (id) => document.getElementById(id);
// The routes sit beside this page, also when the plugin is mounted under a prefix (/ml/ → /ml/predict).
const base = new URL('.', location.href.endsWith('/') ? location.href : `${location.href}/`);
let previewUrl;

function headers(extra = {}) {
  const token = $('token').value.trim();
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

function show(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

function clear() {
  $('bars').replaceChildren();
  $('details').replaceChildren();
}

function render(reply) {
  clear();
  for (const p of reply.top_k) {
    const li = document.createElement('li');
    const label = document.createElement('div');
    label.className = 'label';
    const name = document.createElement('span');
    name.textContent = `${p.label} (${p.class_id})`;
    const value = document.createElement('span');
    value.textContent = `${(p.confidence * 100).toFixed(2)} %`;
    label.append(name, value);
    const track = document.createElement('div');
    track.className = 'track';
    const fill = document.createElement('div');
    fill.className = 'fill';
    fill.style.width = `${Math.max(0.5, p.confidence * 100)}%`;
    track.append(fill);
    li.append(label, track);
    li.dataset.classId = String(p.class_id);
    $('bars').append(li);
  }
  const rows = [
    ['run_id', reply.run_id],
    ['model', `${reply.model.name} (${reply.model.sha256.slice(0, 12)}…)`],
  ];
  for (const [stage, ms] of Object.entries(reply.timings_ms)) rows.push([`${stage} ms`, ms.toFixed(1)]);
  if (reply.test_mode) rows.push(['test_mode', `passed: expected class ${reply.test_mode.expected_class}`]);
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dd.id = `detail-${k.replace(/\W+/g, '-')}`;
    $('details').append(dt, dd);
  }
  show(`top-1: ${reply.prediction.label}`);
}

async function request() {
  const topK = Number($('topk').value) || 5;
  const source = new FormData($('form')).get('source');
  if (source === 'file') {
    const file = $('file').files[0];
    if (!file) throw new Error('choose an image file first');
    return fetch(new URL(`predict?top_k=${topK}`, base), {
      method: 'POST',
      headers: headers({ 'content-type': file.type || 'application/octet-stream' }),
      body: file,
    });
  }
  const body =
    source === 'url' ? { image_url: $('url').value.trim(), top_k: topK } : { test_mode: true, top_k: topK };
  return fetch(new URL('predict', base), {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
}

$('file').addEventListener('change', () => {
  const file = $('file').files[0];
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = file ? URL.createObjectURL(file) : undefined;
  $('preview').hidden = !previewUrl;
  if (previewUrl) $('preview').src = previewUrl;
  document.querySelector('input[name=source][value=file]').checked = true;
});
$('url').addEventListener('input', () => {
  document.querySelector('input[name=source][value=url]').checked = true;
});

$('form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('go').disabled = true;
  clear();
  show('classifying…');
  try {
    const res = await request();
    const reply = await res.json();
    if (!res.ok) show(`${res.status} ${reply.error?.code ?? ''}: ${reply.error?.message ?? 'error'}`, true);
    else render(reply);
  } catch (err) {
    show(err.message, true);
  } finally {
    $('go').disabled = false;
  }
});

// Which model this server runs (readiness is public unless the server says otherwise).
fetch(new URL('ready', base), { headers: headers() })
  .then((r) => r.json())
  .then((r) => {
    $('model').textContent = r.model?.name
      ? `${r.model.name} · ${r.status === 'ready' ? 'ready' : r.status}`
      : `server ${r.status ?? 'unknown'}`;
  })
  .catch(() => {
    $('model').textContent = 'server status unavailable';
  });
