// The web page of `ullava serve`: one image or video, a multi-turn chat about it with the answer streamed
// (server-sent events of /v1/chat/completions), and the masks of each answer drawn as coloured overlays
// with their boxes, each one toggled and downloadable. Plain JS, no build step.
const $ = (id) => document.getElementById(id);
const COLORS = [[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60]];
const FORCED_SEG_PREFIX = 'Sure. Info: [SEG]';

const state = { media: null, history: [], busy: false, maskCount: 0 };

$('apikey').value = localStorage.getItem('ullava-api-key') ?? '';
$('apikey').addEventListener('change', () => localStorage.setItem('ullava-api-key', $('apikey').value));

function headers() {
  const h = { 'content-type': 'application/json' };
  const key = $('apikey').value.trim();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

function status(text) { $('status').textContent = text; }

async function showModel() {
  try {
    const r = await fetch('/v1/models', { headers: headers() });
    const j = await r.json();
    $('model').textContent = r.ok ? `model: ${j.data[0].id}` : j.error.message;
  } catch (e) { $('model').textContent = String(e); }
}

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const fr = new FileReader();
    fr.onload = () => resolve(fr.result);
    fr.onerror = () => reject(fr.error);
    fr.readAsDataURL(file);
  });
}

async function setMedia(file) {
  if (!file) return;
  const kind = file.type.startsWith('video/') ? 'video' : file.type.startsWith('image/') ? 'image' : null;
  if (!kind) { status(`${file.name}: not an image or a video`); return; }
  const url = await readAsDataUrl(file);
  state.media = { kind, url, name: file.name };
  resetConversation();
  $('stage').hidden = false;
  $('image').hidden = kind !== 'image';
  $('video').hidden = kind !== 'video';
  if (kind === 'image') $('image').src = url; else $('video').src = url;
  status(`${file.name} loaded: ask about it`);
}

function resetConversation() {
  state.history = [];
  $('log').textContent = '';
  $('overlays').textContent = '';
  $('masks').textContent = '';
  state.maskCount = 0;
}

function addMessage(role, text) {
  const div = document.createElement('div');
  div.className = `msg ${role}`;
  div.textContent = text;
  $('log').append(div);
  $('log').scrollTop = $('log').scrollHeight;
  return div;
}

/** The OpenAI messages: the media goes with the first user turn, every turn after it is text. */
function messagesFor(question) {
  const turns = [...state.history, { role: 'user', content: question }];
  return turns.map((t, i) => {
    if (i !== 0 || !state.media) return t;
    const part = state.media.kind === 'image'
      ? { type: 'image_url', image_url: { url: state.media.url } }
      : { type: 'video_url', video_url: { url: state.media.url } };
    return { role: 'user', content: [{ type: 'text', text: t.content }, part] };
  });
}

/** Reads server-sent events from a fetch response; calls onData with each parsed `data:` payload. */
async function readSse(res, onData) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        onData(JSON.parse(data));
      }
    }
  }
}

async function ask(question) {
  if (state.busy || !question.trim()) return;
  state.busy = true;
  $('send').disabled = true;
  addMessage('user', question);
  const out = addMessage('assistant', '');
  out.dataset.chunks = '0';
  const body = { messages: messagesFor(question), stream: true, max_tokens: Number($('max-tokens').value) || 64 };
  if ($('force-seg').checked) body.answer_prefix = FORCED_SEG_PREFIX;
  status('thinking...');
  let answer = '', extras = null;
  try {
    const res = await fetch('/v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body) });
    if (!res.ok) {
      const j = await res.json().catch(() => ({ error: { message: res.statusText } }));
      throw new Error(`${res.status}: ${j.error?.message ?? res.statusText}`);
    }
    await readSse(res, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      const c = chunk.choices?.[0];
      if (!c) return;
      if (c.delta?.content) { answer += c.delta.content; out.textContent = answer; out.dataset.chunks = String(Number(out.dataset.chunks) + 1); }
      if (c.finish_reason) { extras = c.delta; out.dataset.finish = c.finish_reason; }
    });
    state.history.push({ role: 'user', content: question }, { role: 'assistant', content: answer });
    if (extras?.masks?.length || extras?.boxes?.length) await showMasks(extras, state.history.length / 2);
    out.dataset.done = 'true';
    status('');
  } catch (e) {
    out.remove();
    addMessage('error', String(e.message ?? e));
    status('');
  } finally {
    state.busy = false;
    $('send').disabled = false;
  }
}

function loadImage(src) {
  return new Promise((resolve, reject) => { const im = new Image(); im.onload = () => resolve(im); im.onerror = reject; im.src = src; });
}

/** One overlay canvas per mask (tinted where the mask is on, its box outlined), and a list row to toggle or download it. */
async function showMasks(extras, turn) {
  const masks = extras.masks ?? [];
  const boxes = extras.boxes ?? [];
  const n = Math.max(masks.length, boxes.length);
  for (let i = 0; i < n; i++) {
    const color = COLORS[state.maskCount++ % COLORS.length];
    const m = masks[i];
    const box = boxes[i]?.box ?? m?.box ?? null;
    const w = m?.width ?? $('image').naturalWidth, h = m?.height ?? $('image').naturalHeight;
    const canvas = document.createElement('canvas');
    canvas.width = w; canvas.height = h;
    canvas.className = 'overlay';
    const g = canvas.getContext('2d');
    let pngUrl = null;
    if (m?.png) {
      pngUrl = `data:image/png;base64,${m.png}`;
      const im = await loadImage(pngUrl);
      g.drawImage(im, 0, 0);
      const px = g.getImageData(0, 0, w, h);
      for (let p = 0; p < px.data.length; p += 4) {
        const on = px.data[p] > 127;
        px.data[p] = color[0]; px.data[p + 1] = color[1]; px.data[p + 2] = color[2]; px.data[p + 3] = on ? 110 : 0;
      }
      g.putImageData(px, 0, 0);
    }
    if (box) {
      g.strokeStyle = `rgb(${color.join(',')})`;
      g.lineWidth = Math.max(2, Math.round(Math.min(w, h) / 150));
      g.strokeRect(box[0], box[1], box[2] - box[0] + 1, box[3] - box[1] + 1);
    }
    $('overlays').append(canvas);
    const li = document.createElement('li');
    li.className = 'mask-item';
    const toggle = document.createElement('input');
    toggle.type = 'checkbox'; toggle.checked = true;
    toggle.addEventListener('change', () => { canvas.hidden = !toggle.checked; });
    const swatch = document.createElement('span');
    swatch.className = 'swatch'; swatch.style.background = `rgb(${color.join(',')})`;
    const label = document.createElement('span');
    label.textContent = `turn ${turn}, mask ${i + 1}` + (m ? `: ${m.area} px` : '') + (box ? `, box [${box.map((v) => Math.round(v)).join(', ')}]` : ', no box');
    li.append(toggle, swatch, label);
    if (pngUrl) {
      const a = document.createElement('a');
      a.href = pngUrl; a.download = `${(state.media?.name ?? 'image').replace(/\.[^.]*$/, '')}_turn${turn}_mask${i + 1}.png`;
      a.textContent = 'download';
      li.append(a);
    }
    $('masks').append(li);
  }
}

$('file').addEventListener('change', (e) => setMedia(e.target.files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); setMedia(e.dataTransfer.files[0]); });
$('ask').addEventListener('submit', (e) => { e.preventDefault(); const q = $('question').value; $('question').value = ''; ask(q); });
$('question').addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('ask').requestSubmit(); } });
$('reset').addEventListener('click', () => { resetConversation(); status('new conversation'); });
showModel();
