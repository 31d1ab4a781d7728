/* A table's suspects under a stored model (rows whose label the model most confidently
   contradicts), found only when asked, with relabel and remove buttons for a token holder: each
   click is an ordinary edit, a new version. */
(function (ui) {
  'use strict';

  var el = ui.el;
  var api = ui.api;
  var enc = ui.enc;
  var plural = ui.plural;
  var pct = ui.pct;
  var setTitle = ui.setTitle;
  var table = ui.table;
  var show = ui.show;
  var thumb = ui.thumb;

  function suspectsForm(name, models, model, limit) {
    var list = el.apply(
      null,
      ['datalist', { id: 'suspect-models' }].concat(
        models.map(function (m) {
          return el('option', { value: m.name + '@' + m.version });
        }),
      ),
    );
    var form = el(
      'form',
      { class: 'filters', 'aria-label': 'find suspects' },
      el(
        'label',
        null,
        'model ',
        el('input', {
          name: 'model',
          value: model,
          list: 'suspect-models',
          size: 24,
          required: true,
          placeholder: 'run:ID or NAME@VERSION',
        }),
      ),
      list,
      el(
        'label',
        null,
        'at most ',
        el('input', { name: 'limit', type: 'number', min: 1, max: 500, value: limit, size: 4 }),
      ),
      el('button', { type: 'submit' }, 'Find suspects'),
    );
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var q = new URLSearchParams({ model: form.model.value.trim(), limit: form.limit.value || '20' });
      location.hash = '#/datasets/' + enc(name) + '/suspects?' + q;
    });
    return form;
  }

  /** An edit of one row; its cell then says what became of the row, and the version it made. */
  function edit(name, cell, path, body, done) {
    cell.querySelectorAll('button').forEach(function (b) {
      b.disabled = true;
    });
    return api('api/tables/' + enc(name) + '/' + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
      .then(function (r) {
        var text = done + (r.version !== null ? ' (version ' + r.version + ')' : ' (no change)');
        cell.replaceChildren(el('span', { class: 'edited' }, text));
        ui.statusLine.textContent = 'row ' + body.ids[0] + ' ' + text;
      })
      .catch(function (e) {
        cell.replaceChildren(el('span', { class: 'error', role: 'alert' }, e.message));
      });
  }

  function actions(name, s) {
    if (!ui.state.writable) return el('span', { class: 'muted small' }, 'a token edits');
    var cell = el('span', { class: 'actions' });
    var relabel = el(
      'button',
      { type: 'button', 'aria-label': 'relabel row ' + s.id + ' to ' + s.suggested },
      'Relabel to ' + s.suggested,
    );
    var remove = el('button', { type: 'button', 'aria-label': 'remove row ' + s.id }, 'Remove');
    relabel.addEventListener('click', function () {
      edit(name, cell, 'relabel', { ids: [s.id], label: s.suggested }, 'relabelled to ' + s.suggested);
    });
    remove.addEventListener('click', function () {
      edit(name, cell, 'remove', { ids: [s.id] }, 'removed');
    });
    cell.append(relabel, ' ', remove);
    return cell;
  }

  function results(name, r) {
    var trained = function (t) {
      return t === null ? '?' : t ? 'yes' : 'no';
    };
    return el(
      'section',
      { 'aria-labelledby': 'suspects-h' },
      el('h2', { id: 'suspects-h' }, 'Suspects under ' + r.model),
      el(
        'p',
        null,
        plural(r.count, 'row') +
          ' scored (' +
          r.engine +
          ') · ' +
          plural(r.found, 'suspect') +
          (r.suspects.length < r.found ? ', the first ' + r.suspects.length + ' shown' : '') +
          (r.skipped ? ' · ' + plural(r.skipped, 'row') + ' of labels the model does not know left out' : ''),
      ),
      r.suspects.length === 0
        ? null
        : table(
            'Rows whose label the model most confidently contradicts, worst first',
            ['image', 'row', 'label', 'suggested', 'confidence', 'p(label)', 'split', 'trained on', 'source', 'edit'],
            r.suspects.map(function (s) {
              return [
                thumb(name, s.id, 'row ' + s.id + ', label ' + s.label),
                String(s.id),
                s.label,
                s.suggested,
                pct(s.confidence),
                pct(s.labelProbability),
                s.split,
                trained(s.trained),
                el('span', { class: 'muted small source' }, s.source),
                actions(name, s),
              ];
            }),
          ),
      r.suspects.some(function (s) {
        return s.trained;
      })
        ? el(
            'p',
            { class: 'muted' },
            'trained on: the model saw these rows in training, so its confidence on them is optimistic',
          )
        : null,
    );
  }

  function suspectsView(name, params) {
    var model = params.get('model') || '';
    var limit = params.get('limit') || '20';
    return api('api/models').then(function (m) {
      var models = m.models.filter(function (x) {
        return x.dataset === name;
      });
      var busy = el(
        'p',
        { class: 'muted', role: 'status' },
        model ? 'running ' + model + ' over every row of ' + name + '…' : '',
      );
      show(
        setTitle('Suspects in ' + name),
        el(
          'p',
          null,
          el('a', { href: '#/datasets/' + enc(name) }, '← ' + name),
          ' · ',
          el('a', { href: '#/datasets/' + enc(name) + '/versions' }, 'versions'),
          ' · Every row of every split is scored; a relabel or removal here is an edit like ',
          el('code', null, 'mldb relabel'),
          ' and ',
          el('code', null, 'mldb rm-rows'),
          ': a new version, recoverable until purged.',
        ),
        suspectsForm(name, models, model, limit),
        busy,
      );
      if (!model) return;
      var q = new URLSearchParams({ model: model, limit: limit });
      return api('api/tables/' + enc(name) + '/suspects?' + q).then(function (r) {
        busy.replaceWith(results(name, r));
      });
    });
  }

  ui.views.suspects = suspectsView;
})(window.mldbDashboard);
