// The mldb serve page: plain JavaScript, no build step, talks only to this service's own API.
'use strict';

const state = { model: null, token: sessionStorage.getItem('mldb-token') || '' };
const $ = (id) => document.getElementById(id);

function authHeaders() {
  return state.token ? { Authorization: `Bearer ${state.token}` } : {};
}

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers || {}) } });
  if (res.status === 401) {
    $('token-box').hidden = false;
    throw new Error('this service needs a token');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok && !body.predictions) throw new Error((body.error && body.error.message) || `HTTP ${res.status}`);
  return body;
}

function setStatus(text, isError = false) {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

async function loadModel() {
  try {
    const { models } = await api('/v1/models');
    state.model = models[0];
    const m = state.model;
    $('model-info').textContent =
      `${m.name} · ${m.architecture} · input ${m.inputShape.join('×')} · labels ${m.labels.join(' ')}` +
      (m.testAccuracy != null ? ` · test accuracy ${m.testAccuracy.toFixed(4)}` : '');
  } catch (e) {
    $('model-info').textContent = `cannot read the model: ${e.message}`;
  }
}

/** Sends images as one multipart request; shows each answer beside its picture. */
async function predict(files, previews) {
  const form = new FormData();
  files.forEach((f) => form.append('file', f, f.name));
  setStatus(`classifying ${files.length} image(s)…`);
  try {
    const body = await api('/v1/predict', { method: 'POST', body: form, headers: { 'X-Mldb-Source': 'page' } });
    body.predictions.forEach((p, i) => showResult(p, previews[i]));
    const failed = body.predictions.filter((p) => p.error).length;
    setStatus(`${body.predictions.length - failed} classified${failed ? `, ${failed} could not be read` : ''}.`);
  } catch (e) {
    setStatus(e.message, true);
  }
  refreshRecent();
}

function showResult(p, preview) {
  const card = document.createElement('div');
  card.className = 'result';
  card.dataset.id = p.id;
  const img = document.createElement('img');
  img.src = preview;
  img.alt = p.name || 'image';
  const info = document.createElement('div');
  card.append(img, info);
  const name = document.createElement('div');
  name.className = 'muted';
  name.textContent = p.name || '';
  info.append(name);
  if (p.error) {
    const err = document.createElement('div');
    err.className = 'error';
    err.textContent = p.error;
    info.append(err);
  } else {
    const label = document.createElement('div');
    label.className = 'label';
    label.textContent = p.label;
    const conf = document.createElement('div');
    conf.className = 'confidence muted';
    conf.textContent = `confidence ${(p.confidence * 100).toFixed(1)}%`;
    const bars = document.createElement('div');
    bars.className = 'bars';
    for (const t of p.top) {
      const row = document.createElement('div');
      row.className = 'bar';
      row.innerHTML =
        '<span class="name"></span><span class="track"><span class="fill"></span></span><span class="pct"></span>';
      row.querySelector('.name').textContent = t.label;
      row.querySelector('.fill').style.width = `${Math.max(1, t.probability * 100)}%`;
      row.querySelector('.fill').style.display = 'block';
      row.querySelector('.pct').textContent = `${(t.probability * 100).toFixed(1)}%`;
      bars.append(row);
    }
    info.append(label, conf, bars, correctionControl(p));
  }
  $('results').prepend(card);
}

/** "Wrong? correct it": records the true label for this logged request. */
function correctionControl(p) {
  const box = document.createElement('div');
  box.className = 'correct';
  const text = document.createElement('span');
  text.textContent = 'Wrong? correct it:';
  const select = document.createElement('select');
  select.setAttribute('aria-label', 'true label');
  for (const l of state.model ? state.model.labels : []) {
    const o = document.createElement('option');
    o.value = o.textContent = l;
    if (l === p.label) o.selected = true;
    select.append(o);
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Save';
  const done = document.createElement('span');
  done.className = 'done';
  button.addEventListener('click', async () => {
    try {
      await api(`/v1/predictions/${p.id}/label`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ label: select.value }),
      });
      done.textContent = `recorded as ${select.value}`;
      refreshRecent();
    } catch (e) {
      done.textContent = e.message;
    }
  });
  box.append(text, select, button, done);
  return box;
}

async function refreshRecent() {
  try {
    const { predictions } = await api('/v1/predictions/recent');
    const body = $('recent').querySelector('tbody');
    body.replaceChildren(
      ...predictions.slice(0, 10).map((p) => {
        const tr = document.createElement('tr');
        const cells = [
          new Date(p.at).toLocaleTimeString(),
          p.name || '-',
          p.error ? `error: ${p.error}` : p.label,
          p.error ? '' : `${(p.confidence * 100).toFixed(1)}%`,
          p.trueLabel || '',
        ];
        for (const c of cells) {
          const td = document.createElement('td');
          td.textContent = c;
          tr.append(td);
        }
        return tr;
      }),
    );
  } catch {
    // The list is a convenience; the prediction itself was shown already.
  }
}

function setupUpload() {
  const zone = $('drop-zone');
  const take = (fileList) => {
    const files = [...fileList].filter((f) => f.size > 0);
    if (files.length)
      predict(
        files,
        files.map((f) => URL.createObjectURL(f)),
      );
  };
  $('file-input').addEventListener('change', (e) => {
    take(e.target.files);
    e.target.value = '';
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    take(e.dataTransfer.files);
  });
}

function setupCanvas() {
  const canvas = $('canvas');
  const ctx = canvas.getContext('2d');
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 22;
  ctx.lineCap = ctx.lineJoin = 'round';
  let drawing = false;
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    ctx.beginPath();
    ctx.moveTo(...point(e));
    ctx.lineTo(...point(e));
    ctx.stroke();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    ctx.lineTo(...point(e));
    ctx.stroke();
  });
  const stop = () => (drawing = false);
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointercancel', stop);
  $('clear-drawing').addEventListener('click', clear);
  $('predict-drawing').addEventListener('click', async () => {
    const small = fitDrawing(canvas);
    if (!small) return setStatus('Draw something first.', true);
    const blob = await new Promise((resolve) => small.toBlob(resolve, 'image/png'));
    const file = new File([blob], 'drawing.png', { type: 'image/png' });
    predict([file], [small.toDataURL('image/png')]);
  });
}

/**
 * The drawing as the dataset's images look: cropped to the strokes, scaled so the digit fills
 * the height (as in the training images), centred, at the model's input size.
 */
function fitDrawing(canvas) {
  const { width, height } = canvas;
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  let top = height,
    left = width,
    bottom = -1,
    right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[(y * width + x) * 4] > 40) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  if (bottom < 0) return null;
  const [h, w] = state.model ? state.model.inputShape : [28, 28];
  const out = document.createElement('canvas');
  out.width = w;
  out.height = h;
  const octx = out.getContext('2d');
  octx.fillStyle = '#000';
  octx.fillRect(0, 0, w, h);
  const bw = right - left + 1;
  const bh = bottom - top + 1;
  const scale = Math.min(h / bh, w / bw);
  const dw = bw * scale;
  const dh = bh * scale;
  octx.imageSmoothingQuality = 'high';
  octx.drawImage(canvas, left, top, bw, bh, (w - dw) / 2, (h - dh) / 2, dw, dh);
  return out;
}

$('token').value = state.token;
$('token-save').addEventListener('click', () => {
  state.token = $('token').value.trim();
  sessionStorage.setItem('mldb-token', state.token);
  $('token-box').hidden = true;
  loadModel();
  refreshRecent();
});
setupUpload();
setupCanvas();
loadModel();
refreshRecent();
