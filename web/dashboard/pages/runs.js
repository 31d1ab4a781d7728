/* The runs page: every training run, filtered, sorted and paged; runs picked here are compared. */
(function (ui) {
  'use strict';

  var el = ui.el;
  var api = ui.api;
  var pct = ui.pct;
  var when = ui.when;
  var setTitle = ui.setTitle;
  var table = ui.table;
  var show = ui.show;
  var charts = window.mldbCharts;
  var fmt = charts.format;

  var RUN_COLUMNS = [
    ['id', 'run'],
    ['status', 'status'],
    ['dataset', 'table'],
    ['architecture', 'model'],
    ['epochs', 'epochs'],
    ['accuracy', 'accuracy'],
    ['val_accuracy', 'val accuracy'],
    ['test_accuracy', 'test accuracy'],
    ['loss', 'loss'],
    ['seconds', 'seconds'],
    ['started', 'started'],
  ];

  /** A link to this page with some parameters changed ('' removes one). */
  function linker(q) {
    return function (changes) {
      var n = new URLSearchParams(q);
      Object.keys(changes).forEach(function (k) {
        if (changes[k] === '') n.delete(k);
        else n.set(k, changes[k]);
      });
      return '#/runs?' + n;
    };
  }

  /** The filters: each a select of the values the runs have; submitting changes the hash. */
  function runFilters(q, facets, link) {
    function select(name, values, label) {
      return el(
        'label',
        null,
        label + ' ',
        el.apply(
          null,
          ['select', { name: name }, el('option', { value: '' }, 'all')].concat(
            values.map(function (v) {
              return el('option', { value: v, selected: v === (q.get(name) || '') }, v);
            }),
          ),
        ),
      );
    }
    var form = el(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'filter runs' },
      select('dataset', facets.datasets, 'table'),
      select('architecture', facets.architectures, 'model'),
      select('status', ['running', 'completed', 'failed', 'interrupted'], 'status'),
      select('experiment', facets.experiments, 'experiment'),
      el('button', { type: 'submit' }, 'Filter'),
    );
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var changes = { offset: '' };
      ['dataset', 'architecture', 'status', 'experiment'].forEach(function (k) {
        changes[k] = form[k].value;
      });
      location.hash = link(changes);
    });
    return form;
  }

  /** Column headers that sort by their column, the second click reversing the order. */
  function sortHeader(q, link) {
    var sort = q.get('sort') || 'id';
    var order = q.get('order') || 'desc';
    return RUN_COLUMNS.map(function (c) {
      var active = sort === c[0];
      var nextOrder = active && order === 'desc' ? 'asc' : 'desc';
      return el(
        'a',
        {
          href: link({ sort: c[0], order: nextOrder, offset: '' }),
          'aria-label': 'sort by ' + c[1] + (active ? ' (sorted ' + order + 'ending)' : ''),
        },
        c[1] + (active ? (order === 'desc' ? ' ▼' : ' ▲') : ''),
      );
    });
  }

  function runRow(run) {
    return [
      el(
        'label',
        { class: 'pick' },
        el('input', { type: 'checkbox', value: run.id, 'aria-label': 'compare run ' + run.id }),
        el('a', { href: '#/runs/' + run.id }, '#' + run.id),
      ),
      el('span', { class: 'status status-' + run.status }, run.status),
      run.dataset,
      run.architecture,
      String(run.epochsDone),
      run.final ? pct(run.final.accuracy) : '–',
      run.final ? pct(run.final.valAccuracy) : '–',
      run.test ? pct(run.test.accuracy) : '–',
      run.final ? fmt(run.final.loss) : '–',
      run.seconds === null ? '–' : run.seconds.toFixed(1),
      when(run.startedAt),
    ];
  }

  /** Compares the runs whose boxes are ticked, two or more. */
  function compareButton() {
    var compare = el('button', { type: 'button' }, 'Compare selected');
    compare.addEventListener('click', function () {
      var ids = Array.prototype.map.call(ui.view.querySelectorAll('.pick input:checked'), function (i) {
        return i.value;
      });
      if (ids.length < 2) ui.statusLine.textContent = 'select two or more runs to compare';
      else location.hash = '#/compare/' + ids.join(',');
    });
    return compare;
  }

  function runsPager(q, total, link) {
    var offset = Number(q.get('offset') || 0);
    var limit = Number(q.get('limit'));
    return el(
      'nav',
      { class: 'pager', 'aria-label': 'pages of runs' },
      offset > 0 ? el('a', { href: link({ offset: String(Math.max(0, offset - limit)) }) }, '← newer') : null,
      el('span', null, ' ' + (total ? offset + 1 : 0) + '–' + Math.min(offset + limit, total) + ' of ' + total + ' '),
      offset + limit < total ? el('a', { href: link({ offset: String(offset + limit) }) }, 'older →') : null,
    );
  }

  function runsView(params) {
    var q = new URLSearchParams(params);
    if (!q.get('limit')) q.set('limit', '50');
    return api('api/runs?' + q).then(function (r) {
      var link = linker(q);
      show(
        setTitle('Runs'),
        runFilters(q, r.facets, link),
        compareButton(),
        table('Training runs', sortHeader(q, link), r.runs.map(runRow), { class: 'runs' }),
        runsPager(q, r.total, link),
      );
    });
  }

  ui.views.runs = runsView;
})(window.mldbDashboard);
