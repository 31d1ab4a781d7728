/* The datasets page (the overview): every dataset table, and one table's counts, import
   findings and images. */
(function (ui) {
  'use strict';

  var el = ui.el;
  var api = ui.api;
  var enc = ui.enc;
  var plural = ui.plural;
  var setTitle = ui.setTitle;
  var table = ui.table;
  var show = ui.show;
  var showError = ui.showError;
  var thumb = ui.thumb;

  function datasetsView() {
    return api('api/overview').then(function (o) {
      ui.state.writable = o.writable;
      ui.statusLine.textContent = [
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

  /** The label and split filter: it changes the hash, which shows the page again. */
  function imageFilter(name, labels, label, split, at) {
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
      if (at) q.set('at', at);
      location.hash = '#/datasets/' + enc(name) + (q.toString() ? '?' + q : '');
    });
    return filter;
  }

  /** The image grid: page() adds the next page of thumbnails, as the button under it does. */
  function imageGrid(name, label, split, at) {
    var grid = el('ul', { class: 'grid', 'aria-label': 'images' });
    var more = el('button', { type: 'button', class: 'more' }, 'More images');
    var next = 0;
    function page() {
      var q = new URLSearchParams({ limit: '60', after: String(next) });
      if (label) q.set('label', label);
      if (split) q.set('split', split);
      if (at) q.set('at', at);
      return api('api/tables/' + enc(name) + '/images?' + q).then(function (p) {
        p.images.forEach(function (im) {
          grid.appendChild(
            el(
              'li',
              { class: 'cell' },
              thumb(name, im.id, 'row ' + im.id + ', label ' + im.label, at || undefined),
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
    return { grid: grid, more: more, page: page };
  }

  function labelCounts(name, labels) {
    return table(
      'Rows per label and split',
      ['label', 'train', 'validation', 'test', 'total'],
      labels.map(function (l) {
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
  }

  /** What import found: the counts at once, the first 20 of each kind when they arrive. */
  function findingsSection(name, found) {
    var findings = el(
      'section',
      { 'aria-labelledby': 'findings-h' },
      el('h2', { id: 'findings-h' }, 'Found at import'),
    );
    findings.appendChild(
      el(
        'p',
        null,
        plural(found.conflicts, 'label conflict') +
          ' (the same image under two labels; the first kept) · ' +
          plural(found.duplicates, 'duplicate file') +
          ' (stored once)',
      ),
    );
    ['conflict', 'duplicate'].forEach(function (kind) {
      if (!found[kind + 's']) return;
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
    return findings;
  }

  function datasetView(name, params) {
    var label = params.get('label') || '';
    var split = params.get('split') || '';
    var at = params.get('at') || '';
    return api('api/tables/' + enc(name)).then(function (d) {
      var labels = d.labels.map(function (l) {
        return l.label;
      });
      var filter = imageFilter(name, labels, label, split, at);
      var images = imageGrid(name, label, split, at);
      if (at) return versionImages(name, at, filter, images, label, split);
      var shape = d.dataset.shape;
      var counts = labelCounts(name, d.labels);
      var findings = findingsSection(name, d.findings);
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
        el(
          'p',
          null,
          el('a', { href: '#/datasets/' + enc(name) + '/versions' }, 'Versions and diffs'),
          ' · ',
          el('a', { href: '#/datasets/' + enc(name) + '/suspects' }, 'Suspects (labels a model doubts)'),
        ),
        el('div', { class: 'two' }, el('section', null, el('h2', null, 'Counts'), counts), findings),
        el('h2', null, 'Images' + (label ? ' labelled ' + label : '') + (split ? ' in ' + split : '')),
        filter,
        images.grid,
        images.more,
      );
      return images.page();
    });
  }

  /** The images of an old version (`at`: a number or tag): the counts above them are the current rows', so left out. */
  function versionImages(name, at, filter, images, label, split) {
    show(
      setTitle('Dataset ' + name + '@' + at),
      el(
        'p',
        null,
        'The rows, labels and splits of version ' + at + ', as ',
        el('code', null, 'mldb rows ' + name + '@' + at),
        ' reads them · ',
        el('a', { href: '#/datasets/' + enc(name) }, 'the current rows'),
        ' · ',
        el('a', { href: '#/datasets/' + enc(name) + '/versions' }, 'versions'),
      ),
      el('h2', null, 'Images' + (label ? ' labelled ' + label : '') + (split ? ' in ' + split : '')),
      filter,
      images.grid,
      images.more,
    );
    return images.page();
  }

  ui.views.datasets = datasetsView;
  ui.views.dataset = datasetView;
})(window.mldbDashboard);
