/* The predictions page: the prediction log, filtered and paged, with a label correction form when
   the dashboard may write. */
(function (ui) {
  'use strict';

  var el = ui.el;
  var api = ui.api;
  var pct = ui.pct;
  var when = ui.when;
  var setTitle = ui.setTitle;
  var table = ui.table;
  var show = ui.show;
  var showError = ui.showError;

  /** The filters: text for model, label and time, boxes for corrected and waiting rows. */
  function predictionFilters(q) {
    function input(name, label, type) {
      return el(
        'label',
        null,
        label + ' ',
        el('input', { name: name, type: type || 'text', value: q.get(name) || '', size: 14 }),
      );
    }
    var form = el(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'filter predictions' },
      input('model', 'model'),
      input('label', 'predicted'),
      input('since', 'since'),
      el(
        'label',
        null,
        el('input', { type: 'checkbox', name: 'corrected', checked: q.get('corrected') === '1' }),
        ' corrected',
      ),
      el(
        'label',
        null,
        el('input', { type: 'checkbox', name: 'pending', checked: q.get('pending') === '1' }),
        ' waiting for promote',
      ),
      el('button', { type: 'submit' }, 'Filter'),
    );
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var n = new URLSearchParams();
      ['model', 'label', 'since'].forEach(function (k) {
        if (form[k].value) n.set(k, form[k].value);
      });
      if (form.corrected.checked) n.set('corrected', '1');
      if (form.pending.checked) n.set('pending', '1');
      location.hash = '#/predictions?' + n;
    });
    return form;
  }

  function predictionRow(p) {
    var shown = p.inputLogged
      ? ui.apiImage('api/predictions/' + p.id + '/input', {
          alt: 'input ' + (p.fileName || p.id),
          width: 48,
          height: 48,
          class: 'thumb',
        })
      : el('span', { class: 'muted small' }, 'not logged');
    var correction = p.trueLabel
      ? el('span', null, p.trueLabel + (p.promotedTo ? ' (promoted to ' + p.promotedTo + ')' : ' (waiting)'))
      : ui.state.writable && p.status === 'ok'
        ? correctForm(p)
        : '–';
    return [
      when(p.createdAt),
      shown,
      p.fileName || '–',
      p.model,
      p.status === 'ok' ? p.label : el('span', { class: 'error' }, p.error || 'error'),
      p.confidence === null ? '–' : pct(p.confidence),
      correction,
      p.latencyMs.toFixed(1) + ' ms',
    ];
  }

  function predictionsView(params) {
    var q = new URLSearchParams(params);
    q.set('limit', '50');
    return api('api/predictions?' + q).then(function (r) {
      var older = r.next
        ? el(
            'a',
            { href: '#/predictions?' + new URLSearchParams(Object.assign(Object.fromEntries(q), { cursor: r.next })) },
            'older →',
          )
        : null;
      show(
        setTitle('Predictions'),
        predictionFilters(q),
        table(
          'The prediction log, newest first',
          ['time', 'input', 'file', 'model', 'label', 'confidence', 'corrected to', 'latency'],
          r.predictions.map(predictionRow),
        ),
        el('nav', { class: 'pager', 'aria-label': 'pages of predictions' }, older),
        el(
          'p',
          { class: 'muted' },
          'Corrections with a logged input join a table with ',
          el('code', null, 'mldb predictions promote --table T'),
        ),
      );
    });
  }

  function correctForm(p) {
    var f = el(
      'form',
      { class: 'inline' },
      el('input', { name: 'label', size: 6, 'aria-label': 'correct label of ' + (p.fileName || p.id), required: true }),
      el('button', { type: 'submit' }, 'Correct'),
    );
    f.addEventListener('submit', function (ev) {
      ev.preventDefault();
      api('api/predictions/' + p.id + '/label', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ label: f.label.value }),
      })
        .then(function () {
          ui.statusLine.textContent = 'corrected ' + (p.fileName || p.id) + ' to ' + f.label.value;
          ui.route();
        })
        .catch(showError);
    });
    return f;
  }

  ui.views.predictions = predictionsView;
})(window.mldbDashboard);
