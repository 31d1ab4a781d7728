/* The dashboard: hash routes, each a view built from the JSON API with textContent only (names
   and labels are the user's data). Plain browser JavaScript, served as written. */
(function () {
  'use strict';

  var charts = window.mldbCharts;
  var fmt = charts.format;
  var view = document.getElementById('view');
  var statusLine = document.getElementById('status');
  var token = sessionStorage.getItem('mldb-ui-token') || '';
  var writable = false;
  var poll = null;

  /** An element: el('a', { href: '#/x', class: 'y' }, 'text', child, …). Text is always text. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'class') node.className = v;
      else if (k.indexOf('on') === 0) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function api(path, init) {
    init = init || {};
    init.headers = Object.assign({}, init.headers || {}, token ? { Authorization: 'Bearer ' + token } : {});
    return fetch(path, init).then(function (r) {
      if (r.status === 401) {
        document.getElementById('token-box').hidden = false;
        throw new Error('this dashboard needs a token');
      }
      return r.json().then(function (body) {
        if (!r.ok) throw new Error((body.error && body.error.message) || 'HTTP ' + r.status);
        return body;
      });
    });
  }

  function enc(s) {
    return encodeURIComponent(s);
  }

  function plural(n, word) {
    return n.toLocaleString('en-US') + ' ' + word + (n === 1 ? '' : 's');
  }

  function pct(x) {
    return x === null || x === undefined ? '–' : (100 * x).toFixed(2) + '%';
  }

  function when(iso) {
    return iso ? iso.replace('T', ' ').slice(0, 19) : '–';
  }

  function setTitle(text) {
    document.title = text + ' · mldb';
    return el('h1', null, text);
  }

  /** A table whose header cells are given; rows are arrays of cells (text or nodes). */
  function table(caption, header, rows, opts) {
    opts = opts || {};
    var thead = el(
      'thead',
      null,
      el.apply(
        null,
        ['tr', null].concat(
          header.map(function (h) {
            return el('th', { scope: 'col' }, h);
          }),
        ),
      ),
    );
    var tbody = el('tbody');
    rows.forEach(function (r) {
      tbody.appendChild(
        el.apply(
          null,
          ['tr', null].concat(
            r.map(function (c) {
              return el('td', null, c);
            }),
          ),
        ),
      );
    });
    return el(
      'div',
      { class: 'scroll' },
      el('table', { class: opts.class }, el('caption', null, caption), thead, tbody),
    );
  }

  /**
   * Replaces the view with these parts. A part may be null, undefined or false (a section a page
   * does not have): it is left out, as el() leaves it out. replaceChildren itself would print it.
   */
  function show() {
    var parts = Array.prototype.filter.call(arguments, function (c) {
      return c !== null && c !== undefined && c !== false;
    });
    view.replaceChildren.apply(view, parts);
  }

  function showError(e) {
    show(el('p', { class: 'error', role: 'alert' }, e.message));
  }

  function thumb(table, row, label) {
    return el('img', {
      src: 'api/tables/' + enc(table) + '/images/' + row + '.png',
      alt: label,
      loading: 'lazy',
      width: 64,
      height: 64,
      class: 'thumb',
    });
  }

  // ---- datasets

  function datasetsView() {
    return api('api/overview').then(function (o) {
      writable = o.writable;
      statusLine.textContent = [
        plural(o.runs, 'run'),
        plural(o.experiments, 'experiment'),
        plural(o.models, 'model'),
        plural(o.pendingCorrections, 'correction') + ' waiting',
      ].join(' · ');
      show(
        setTitle('Datasets'),
        o.tables.length === 0
          ? el('p', null, 'No dataset tables yet: ', el('code', null, 'mldb import DIR --create'))
          : table(
              'Dataset tables',
              ['table', 'rows', 'labels', 'shape', 'shards', 'size on the server'],
              o.tables.map(function (t) {
                return [
                  el('a', { href: '#/datasets/' + enc(t.name) }, t.name),
                  t.rows.toLocaleString('en-US'),
                  String(t.labels),
                  t.shape ? t.shape.height + '×' + t.shape.width + '×' + t.shape.channels : 'not fixed yet',
                  t.shardRows ? t.shardRows.length + ' servers' : '–',
                  t.approxBytes ? '≈ ' + (t.approxBytes / 1048576).toFixed(1) + ' MiB' : '–',
                ];
              }),
            ),
      );
    });
  }

  function datasetView(name, params) {
    var label = params.get('label') || '';
    var split = params.get('split') || '';
    return api('api/tables/' + enc(name)).then(function (d) {
      var labels = d.labels.map(function (l) {
        return l.label;
      });
      var filter = el(
        'form',
        { class: 'filters', role: 'search', 'aria-label': 'filter images' },
        el(
          'label',
          null,
          'label ',
          el.apply(
            null,
            ['select', { name: 'label' }, el('option', { value: '' }, 'all')].concat(
              labels.map(function (l) {
                return el('option', { value: l, selected: l === label }, l);
              }),
            ),
          ),
        ),
        el(
          'label',
          null,
          'split ',
          el.apply(
            null,
            ['select', { name: 'split' }, el('option', { value: '' }, 'all')].concat(
              ['train', 'validation', 'test'].map(function (s) {
                return el('option', { value: s, selected: s === split }, s);
              }),
            ),
          ),
        ),
        el('button', { type: 'submit' }, 'Show'),
      );
      filter.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var q = new URLSearchParams();
        if (filter.label.value) q.set('label', filter.label.value);
        if (filter.split.value) q.set('split', filter.split.value);
        location.hash = '#/datasets/' + enc(name) + (q.toString() ? '?' + q : '');
      });
      var grid = el('ul', { class: 'grid', 'aria-label': 'images' });
      var more = el('button', { type: 'button', class: 'more' }, 'More images');
      var next = 0;
      function page() {
        var q = new URLSearchParams({ limit: '60', after: String(next) });
        if (label) q.set('label', label);
        if (split) q.set('split', split);
        return api('api/tables/' + enc(name) + '/images?' + q).then(function (p) {
          p.images.forEach(function (im) {
            grid.appendChild(
              el(
                'li',
                { class: 'cell' },
                thumb(name, im.id, 'row ' + im.id + ', label ' + im.label),
                el('span', { class: 'cell-label' }, im.label),
                el('span', { class: 'muted small', title: im.source }, im.split + ' · #' + im.id),
                el('span', { class: 'muted small hash' }, im.sha256.slice(0, 12)),
                el('span', { class: 'muted small source' }, im.source),
              ),
            );
          });
          next = p.next;
          more.hidden = p.next === null;
        });
      }
      more.addEventListener('click', function () {
        page().catch(showError);
      });
      var shape = d.dataset.shape;
      var counts = table(
        'Rows per label and split',
        ['label', 'train', 'validation', 'test', 'total'],
        d.labels.map(function (l) {
          return [
            el('a', { href: '#/datasets/' + enc(name) + '?label=' + enc(l.label) }, l.label),
            String(l.train),
            String(l.validation),
            String(l.test),
            String(l.total),
          ];
        }),
        { class: 'numbers' },
      );
      var findings = el(
        'section',
        { 'aria-labelledby': 'findings-h' },
        el('h2', { id: 'findings-h' }, 'Found at import'),
      );
      findings.appendChild(
        el(
          'p',
          null,
          plural(d.findings.conflicts, 'label conflict') +
            ' (the same image under two labels; the first kept) · ' +
            plural(d.findings.duplicates, 'duplicate file') +
            ' (stored once)',
        ),
      );
      ['conflict', 'duplicate'].forEach(function (kind) {
        if (!d.findings[kind + 's']) return;
        api('api/tables/' + enc(name) + '/findings?kind=' + kind + '&limit=20').then(function (f) {
          var conflict = kind === 'conflict';
          findings.appendChild(
            el(
              'details',
              { open: conflict },
              el('summary', null, conflict ? 'Label conflicts' : 'Duplicate files', f.next ? ' (the first 20)' : ''),
              table(
                conflict ? 'Files not stored: their image is stored under another label' : 'Files stored once',
                conflict ? ['file', 'its label', 'same image as', 'kept label'] : ['file', 'same file as'],
                f.findings.map(function (x) {
                  return conflict ? [x.source, x.label, x.keptSource, x.keptLabel] : [x.source, x.keptSource];
                }),
              ),
            ),
          );
        });
      });
      show(
        setTitle('Dataset ' + name),
        el(
          'p',
          null,
          d.rows.toLocaleString('en-US') +
            ' rows · ' +
            d.labels.length +
            ' labels · shape ' +
            (shape ? shape.height + '×' + shape.width + '×' + shape.channels : 'not fixed') +
            (d.shards ? ' · sharded over ' + d.shards.length + ' servers' : ''),
        ),
        el('div', { class: 'two' }, el('section', null, el('h2', null, 'Counts'), counts), findings),
        el('h2', null, 'Images' + (label ? ' labelled ' + label : '') + (split ? ' in ' + split : '')),
        filter,
        grid,
        more,
      );
      return page();
    });
  }

  // ---- runs

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

  function runsView(params) {
    var q = new URLSearchParams(params);
    if (!q.get('limit')) q.set('limit', '50');
    return api('api/runs?' + q).then(function (r) {
      var sort = q.get('sort') || 'id';
      var order = q.get('order') || 'desc';
      function link(changes) {
        var n = new URLSearchParams(q);
        Object.keys(changes).forEach(function (k) {
          if (changes[k] === '') n.delete(k);
          else n.set(k, changes[k]);
        });
        return '#/runs?' + n;
      }
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
        select('dataset', r.facets.datasets, 'table'),
        select('architecture', r.facets.architectures, 'model'),
        select('status', ['running', 'completed', 'failed', 'interrupted'], 'status'),
        select('experiment', r.facets.experiments, 'experiment'),
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
      var header = RUN_COLUMNS.map(function (c) {
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
      var rows = r.runs.map(function (run) {
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
      });
      var compare = el('button', { type: 'button' }, 'Compare selected');
      compare.addEventListener('click', function () {
        var ids = Array.prototype.map.call(view.querySelectorAll('.pick input:checked'), function (i) {
          return i.value;
        });
        if (ids.length < 2) statusLine.textContent = 'select two or more runs to compare';
        else location.hash = '#/compare/' + ids.join(',');
      });
      var offset = Number(q.get('offset') || 0);
      var limit = Number(q.get('limit'));
      var pager = el(
        'nav',
        { class: 'pager', 'aria-label': 'pages of runs' },
        offset > 0 ? el('a', { href: link({ offset: String(Math.max(0, offset - limit)) }) }, '← newer') : null,
        el(
          'span',
          null,
          ' ' + (r.total ? offset + 1 : 0) + '–' + Math.min(offset + limit, r.total) + ' of ' + r.total + ' ',
        ),
        offset + limit < r.total ? el('a', { href: link({ offset: String(offset + limit) }) }, 'older →') : null,
      );
      show(setTitle('Runs'), form, compare, table('Training runs', header, rows, { class: 'runs' }), pager);
    });
  }

  function confusion(details) {
    var max = 0;
    details.confusion.forEach(function (row) {
      row.forEach(function (n) {
        max = Math.max(max, n);
      });
    });
    var header = ['true \\ predicted'].concat(details.labels);
    var rows = details.confusion.map(function (row, i) {
      return [el('strong', null, details.labels[i])].concat(
        row.map(function (n, j) {
          var cell = el('span', { class: 'heat' + (i === j ? ' diag' : n ? ' off' : '') }, String(n));
          cell.style.setProperty('--heat', max ? String(n / max) : '0');
          return cell;
        }),
      );
    });
    return table('Confusion matrix of the test split (rows: true label)', header, rows, { class: 'confusion' });
  }

  function curveCharts(runs) {
    var xs = [];
    runs.forEach(function (run) {
      run.epochs.forEach(function (e) {
        if (xs.indexOf(e.epoch) < 0) xs.push(e.epoch);
      });
    });
    xs.sort(function (a, b) {
      return a - b;
    });
    function series(key, suffix) {
      return runs.map(function (run, i) {
        var byEpoch = {};
        run.epochs.forEach(function (e) {
          byEpoch[e.epoch] = e[key];
        });
        return {
          label: (runs.length > 1 ? '#' + run.id + ' ' : '') + suffix,
          color: runs.length > 1 ? charts.color(i) : undefined,
          values: xs.map(function (x) {
            return byEpoch[x] === undefined ? null : byEpoch[x];
          }),
        };
      });
    }
    function pair(a, b, la, lb) {
      if (runs.length === 1) return series(a, la).concat(series(b, lb));
      return series(b, lb);
    }
    return {
      xs: xs,
      loss: pair('loss', 'valLoss', 'loss', 'val loss'),
      accuracy: pair('accuracy', 'valAccuracy', 'accuracy', 'val accuracy'),
      lr: series('learningRate', 'learning rate'),
    };
  }

  function runView(id) {
    var built = null;
    function render(r) {
      var run = r.run;
      var c = curveCharts([run]);
      if (built && built.run.status === 'running') {
        built.loss.update(c.xs, c.loss);
        built.accuracy.update(c.xs, c.accuracy);
        built.lr.update(c.xs, c.lr);
        built.summary.replaceChildren(summaryText(run));
        built.run = run;
        if (run.status !== 'running') return route();
        return;
      }
      var loss = charts.lineChart('Loss', c.xs, c.loss);
      var accuracy = charts.lineChart('Accuracy', c.xs, c.accuracy);
      var lr = charts.lineChart('Learning rate', c.xs, c.lr, { height: 160 });
      var summary = el('p', { 'aria-live': 'polite' }, summaryText(run));
      var settings = Object.keys(run.hyperparameters)
        .sort()
        .map(function (k) {
          return [k, JSON.stringify(run.hyperparameters[k])];
        });
      var parts = [
        setTitle('Run #' + run.id + (run.name ? ' ' + run.name : '')),
        summary,
        run.error ? el('p', { class: 'error' }, run.error) : null,
        el('div', { class: 'charts' }, loss.element, accuracy.element, lr.element),
        el(
          'div',
          { class: 'two' },
          el('section', null, el('h2', null, 'Settings'), table('Hyperparameters', ['setting', 'value'], settings)),
          el(
            'section',
            null,
            el('h2', null, 'Epochs'),
            table(
              'Epochs',
              ['epoch', 'loss', 'accuracy', 'val loss', 'val accuracy', 'learning rate', 'seconds'],
              run.epochs.map(function (e) {
                return [
                  String(e.epoch),
                  fmt(e.loss),
                  pct(e.accuracy),
                  fmt(e.valLoss),
                  pct(e.valAccuracy),
                  fmt(e.learningRate),
                  e.seconds.toFixed(1),
                ];
              }),
              { class: 'numbers' },
            ),
          ),
        ),
      ];
      if (r.models.length)
        parts.push(
          el('h2', null, 'Stored models'),
          table(
            'Models this run stored',
            ['model', 'test accuracy', 'serve it'],
            r.models.map(function (m) {
              return [
                m.name + '@' + m.version,
                pct(m.testAccuracy),
                el('code', null, 'mldb serve --model ' + m.name + '@' + m.version),
              ];
            }),
          ),
        );
      var d = run.testDetails;
      if (d) {
        parts.push(el('h2', null, 'Test split'), confusion(d));
        if (d.mistakes.length) {
          var grid = el('ul', { class: 'grid', 'aria-label': 'mistakes' });
          d.mistakes.slice(0, 60).forEach(function (m) {
            grid.appendChild(
              el(
                'li',
                { class: 'cell' },
                thumb(run.dataset, m.id, 'row ' + m.id + ': ' + m.label + ' predicted as ' + m.predicted),
                el('span', { class: 'cell-label' }, m.label + ' → ' + m.predicted),
                el('span', { class: 'muted small' }, pct(m.confidence) + ' · #' + m.id),
              ),
            );
          });
          parts.push(el('h3', null, 'Mistakes (' + d.mistakes.length + ')'), grid);
        }
      }
      show.apply(null, parts);
      built = { run: run, loss: loss, accuracy: accuracy, lr: lr, summary: summary };
    }
    function summaryText(run) {
      return (
        run.status +
        ' · ' +
        run.architecture +
        ' on ' +
        run.dataset +
        ' · ' +
        run.epochsDone +
        ' epochs' +
        (run.final ? ' · val accuracy ' + pct(run.final.valAccuracy) : '') +
        (run.test ? ' · test accuracy ' + pct(run.test.accuracy) : '') +
        (run.backend ? ' · ' + run.backend : '') +
        ' · started ' +
        when(run.startedAt)
      );
    }
    return api('api/runs/' + enc(id)).then(function (r) {
      render(r);
      if (r.run.status === 'running') {
        // A run still training: its curves grow as epochs are recorded.
        poll = setInterval(function () {
          api('api/runs/' + enc(id))
            .then(render)
            .catch(function () {});
        }, 2000);
      }
    });
  }

  function compareView(ids) {
    return api('api/compare?ids=' + enc(ids)).then(function (r) {
      var c = curveCharts(r.runs);
      var keys = r.differing;
      var rows = r.runs.map(function (run) {
        var s = Object.assign({ architecture: run.architecture, dataset: run.dataset }, run.hyperparameters);
        return [el('a', { href: '#/runs/' + run.id }, '#' + run.id)]
          .concat(
            keys.map(function (k) {
              // A setting this run does not have (an older run): a dash, as for any missing value.
              return s[k] === undefined ? '–' : JSON.stringify(s[k]);
            }),
          )
          .concat([run.final ? pct(run.final.valAccuracy) : '–', run.test ? pct(run.test.accuracy) : '–']);
      });
      show(
        setTitle(
          'Compare runs ' +
            r.runs
              .map(function (x) {
                return '#' + x.id;
              })
              .join(', '),
        ),
        el(
          'div',
          { class: 'charts' },
          charts.lineChart('Validation loss', c.xs, c.loss).element,
          charts.lineChart('Validation accuracy', c.xs, c.accuracy).element,
        ),
        el('h2', null, 'Settings that differ'),
        keys.length ? null : el('p', null, 'None: these runs share every setting.'),
        table('Settings that differ, and the results', ['run'].concat(keys, ['val accuracy', 'test accuracy']), rows),
      );
    });
  }

  // ---- experiments

  function experimentsView() {
    return api('api/experiments?limit=100').then(function (r) {
      show(
        setTitle('Experiments'),
        r.experiments.length === 0
          ? el('p', null, 'No experiments yet: ', el('code', null, 'mldb experiment plan.yaml'))
          : table(
              'Experiments, latest first',
              ['experiment', 'runs', 'completed', 'running', 'best val accuracy', 'best test accuracy', 'last run'],
              r.experiments.map(function (x) {
                return [
                  el('a', { href: '#/experiments/' + enc(x.name) }, x.name),
                  String(x.runs),
                  String(x.completed),
                  String(x.running),
                  pct(x.bestValAccuracy),
                  pct(x.bestTestAccuracy),
                  when(x.lastStartedAt),
                ];
              }),
            ),
      );
    });
  }

  /**
   * The plan's study as it runs: trials by state, the worker of each, every trial's reported
   * values per epoch (pruned ones in grey, stopped where they were pruned).
   */
  function studySection(study) {
    if (!study) return null;
    var counts = {};
    study.rows.forEach(function (t) {
      counts[t.state] = (counts[t.state] || 0) + 1;
    });
    var states = ['completed', 'running', 'pruned', 'waiting', 'failed'].filter(function (k) {
      return counts[k];
    });
    var steps = 0;
    study.rows.forEach(function (t) {
      t.steps.forEach(function (s) {
        steps = Math.max(steps, s[0]);
      });
    });
    var xs = [];
    for (var i = 1; i <= steps; i++) xs.push(i);
    var shown = study.rows
      .filter(function (t) {
        return t.steps.length > 0;
      })
      .slice(-40);
    var series = shown.map(function (t, i) {
      var byStep = {};
      t.steps.forEach(function (s) {
        byStep[s[0]] = s[1];
      });
      return {
        label: 'trial ' + (t.number + 1) + (t.state === 'pruned' ? ' (pruned)' : ''),
        color: t.state === 'pruned' ? '#b0b4ba' : charts.color(i),
        values: xs.map(function (x) {
          return byStep[x] === undefined ? null : byStep[x];
        }),
      };
    });
    return el(
      'section',
      { 'aria-label': 'study' },
      el('h2', null, 'Study'),
      el(
        'p',
        null,
        study.rows.length +
          ' of ' +
          study.trials +
          ' trials (' +
          study.sampler +
          (study.pruner === 'none' ? '' : ', ' + study.pruner + ' pruner') +
          ', chosen by ' +
          study.objective +
          '): ' +
          (states
            .map(function (k) {
              return counts[k] + ' ' + k;
            })
            .join(' · ') || 'none yet'),
      ),
      series.length
        ? charts.lineChart(study.objective + ' per epoch, pruned trials in grey', xs, series).element
        : null,
      table(
        'Trials: state and worker',
        ['trial', 'state', 'worker', 'epochs', study.objective, 'run'],
        study.rows.map(function (t) {
          return [
            String(t.number + 1),
            t.state,
            t.state === 'running' || t.state === 'completed' || t.state === 'pruned' ? t.worker || '–' : '–',
            String(t.steps.length),
            t.value === null ? '–' : charts.format(t.value),
            t.runId ? el('a', { href: '#/runs/' + t.runId }, '#' + t.runId) : '–',
          ];
        }),
      ),
    );
  }

  function experimentView(name) {
    return api('api/experiments/' + enc(name)).then(function (r) {
      if (
        r.study &&
        r.study.rows.some(function (t) {
          return t.state === 'running' || t.state === 'waiting';
        })
      ) {
        // A live study: trials move from state to state as workers claim and finish them.
        if (poll) clearInterval(poll);
        poll = setInterval(function () {
          api('api/experiments/' + enc(name))
            .then(function (next) {
              var old = document.querySelector('section[aria-label="study"]');
              var fresh = studySection(next.study);
              if (old && fresh) old.replaceWith(fresh);
              var live = next.study.rows.some(function (t) {
                return t.state === 'running' || t.state === 'waiting';
              });
              if (!live && poll) clearInterval(poll);
            })
            .catch(function () {});
        }, 2000);
      }
      if (r.runs.length === 0) {
        show(setTitle('Experiment ' + name), studySection(r.study));
        return;
      }
      var runs = r.runs;
      var keys = r.differing;
      var metricName = runs.some(function (x) {
        return x.test;
      })
        ? 'test accuracy'
        : 'val accuracy';
      var axes = keys.map(function (k) {
        var values = runs.map(function (run) {
          return Object.assign({ architecture: run.architecture, dataset: run.dataset }, run.hyperparameters)[k];
        });
        return {
          name: k,
          values: values,
          numeric: values.every(function (v) {
            return typeof v === 'number';
          }),
        };
      });
      axes.push({
        name: metricName,
        numeric: true,
        values: runs.map(function (run) {
          return metricName === 'test accuracy'
            ? run.test
              ? run.test.accuracy
              : null
            : run.final
              ? run.final.valAccuracy
              : null;
        }),
      });
      var ids = runs.map(function (x) {
        return x.id;
      });
      show(
        setTitle('Experiment ' + name),
        el('p', null, runs.length + ' runs · settings that vary: ' + (keys.join(', ') || 'none')),
        charts.parallelCoordinates('Settings against ' + metricName, axes, ids),
        studySection(r.study),
        table(
          'Runs by ' + metricName + ', best first',
          ['run'].concat(keys, [metricName, 'status']),
          ids
            .map(function (id, r) {
              return { id: id, r: r, m: axes[axes.length - 1].values[r] };
            })
            .sort(function (a, b) {
              return (b.m === null ? -1 : b.m) - (a.m === null ? -1 : a.m);
            })
            .map(function (x) {
              return [el('a', { href: '#/runs/' + x.id }, '#' + x.id)]
                .concat(
                  axes.slice(0, -1).map(function (a) {
                    return JSON.stringify(a.values[x.r]);
                  }),
                )
                .concat([pct(x.m), runs[x.r].status]);
            }),
        ),
        el(
          'p',
          null,
          el('a', { href: '#/runs?experiment=' + enc(name) }, 'These runs in the runs table'),
          ' · ',
          el('a', { href: '#/compare/' + ids.slice(0, 20).join(',') }, 'compare them'),
        ),
      );
    });
  }

  // ---- models and predictions

  function modelsView() {
    return api('api/models').then(function (r) {
      show(
        setTitle('Models'),
        r.models.length === 0
          ? el('p', null, 'No stored models yet: ', el('code', null, 'mldb train'), ' stores one.')
          : table(
              'Stored models, newest first',
              ['model', 'architecture', 'table', 'input', 'labels', 'test accuracy', 'run', 'stored', 'serve it'],
              r.models.map(function (m) {
                var ref = m.name + '@' + m.version;
                return [
                  ref,
                  m.architecture,
                  m.dataset || '–',
                  m.inputShape.join('×'),
                  String(m.labels.length),
                  pct(m.testAccuracy),
                  m.runId ? el('a', { href: '#/runs/' + m.runId }, '#' + m.runId) : '–',
                  when(m.createdAt),
                  el('code', null, 'mldb serve --model ' + ref),
                ];
              }),
            ),
      );
    });
  }

  function predictionsView(params) {
    var q = new URLSearchParams(params);
    q.set('limit', '50');
    return api('api/predictions?' + q).then(function (r) {
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
      var rows = r.predictions.map(function (p) {
        var shown = p.inputLogged
          ? el('img', {
              src: 'api/predictions/' + p.id + '/input',
              alt: 'input ' + (p.fileName || p.id),
              loading: 'lazy',
              width: 48,
              height: 48,
              class: 'thumb',
            })
          : el('span', { class: 'muted small' }, 'not logged');
        var correction = p.trueLabel
          ? el('span', null, p.trueLabel + (p.promotedTo ? ' (promoted to ' + p.promotedTo + ')' : ' (waiting)'))
          : writable && p.status === 'ok'
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
      });
      var older = r.next
        ? el(
            'a',
            { href: '#/predictions?' + new URLSearchParams(Object.assign(Object.fromEntries(q), { cursor: r.next })) },
            'older →',
          )
        : null;
      show(
        setTitle('Predictions'),
        form,
        table(
          'The prediction log, newest first',
          ['time', 'input', 'file', 'model', 'label', 'confidence', 'corrected to', 'latency'],
          rows,
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
          statusLine.textContent = 'corrected ' + (p.fileName || p.id) + ' to ' + f.label.value;
          route();
        })
        .catch(showError);
    });
    return f;
  }

  // ---- routing

  function route() {
    if (poll) clearInterval(poll);
    poll = null;
    var hash = location.hash.replace(/^#\/?/, '') || 'datasets';
    var qi = hash.indexOf('?');
    var path = (qi >= 0 ? hash.slice(0, qi) : hash).split('/').map(decodeURIComponent);
    var params = new URLSearchParams(qi >= 0 ? hash.slice(qi + 1) : '');
    document.querySelectorAll('nav a[data-section]').forEach(function (a) {
      var current = a.getAttribute('data-section') === (path[0] === 'compare' ? 'runs' : path[0]);
      if (current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    var views = {
      datasets: function () {
        return path[1] ? datasetView(path[1], params) : datasetsView();
      },
      runs: function () {
        return path[1] ? runView(path[1]) : runsView(params);
      },
      compare: function () {
        return compareView(path[1] || '');
      },
      experiments: function () {
        return path[1] ? experimentView(path[1]) : experimentsView();
      },
      models: modelsView,
      predictions: function () {
        return predictionsView(params);
      },
    };
    var show = views[path[0]] || datasetsView;
    view.setAttribute('aria-busy', 'true');
    Promise.resolve()
      .then(show)
      .catch(showError)
      .then(function () {
        view.removeAttribute('aria-busy');
        view.setAttribute('data-ready', location.hash || '#/datasets');
      });
  }

  // The skip link focuses the content without touching the hash (the hash is the route).
  document.querySelector('.skip').addEventListener('click', function (ev) {
    ev.preventDefault();
    view.focus();
  });
  document.getElementById('token-save').addEventListener('click', function () {
    token = document.getElementById('token').value.trim();
    sessionStorage.setItem('mldb-ui-token', token);
    document.getElementById('token-box').hidden = true;
    start();
  });
  window.addEventListener('hashchange', function () {
    route();
    view.focus();
  });
  /** Whether corrections may be written (a token is set) decides what the views offer. */
  function start() {
    api('api/overview')
      .then(function (o) {
        writable = o.writable;
      })
      .catch(function () {})
      .then(route);
  }
  start();
})();
