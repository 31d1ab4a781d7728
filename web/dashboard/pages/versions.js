/* A table's versions (what changed it, when, by whom, its tags) and the diff between two of them:
   counts per label, then the rows. */
(function (ui) {
  'use strict';

  var el = ui.el;
  var api = ui.api;
  var enc = ui.enc;
  var plural = ui.plural;
  var when = ui.when;
  var setTitle = ui.setTitle;
  var table = ui.table;
  var show = ui.show;
  var showError = ui.showError;

  function versionsHash(name, from, to) {
    var q = new URLSearchParams();
    if (from !== '') q.set('from', from);
    if (to !== '') q.set('to', to);
    return '#/datasets/' + enc(name) + '/versions' + (q.toString() ? '?' + q : '');
  }

  function versionRow(name, v) {
    return [
      String(v.version),
      v.tag || '–',
      v.kind,
      v.rows.toLocaleString('en-US'),
      when(v.at),
      v.by || '–',
      el(
        'a',
        { href: '#/datasets/' + enc(name) + '?at=' + v.version, 'aria-label': 'images of version ' + v.version },
        'images',
      ),
      v.version > 0
        ? el(
            'a',
            {
              href: versionsHash(name, String(v.version - 1), String(v.version)),
              'aria-label': 'changes of version ' + v.version,
            },
            'changes',
          )
        : '–',
    ];
  }

  /** The versions, newest first, a page at a time. */
  function versionList(name, first) {
    var rows = first.versions.map(function (v) {
      return versionRow(name, v);
    });
    var wrap = table(
      'Versions, newest first',
      ['version', 'tag', 'what', 'rows', 'when', 'by', 'rows then', 'diff'],
      rows,
      {
        class: 'numbers',
      },
    );
    var tbody = wrap.querySelector('tbody');
    var next = first.next;
    var more = el('button', { type: 'button', class: 'more', hidden: next === null }, 'Older versions');
    more.addEventListener('click', function () {
      api('api/tables/' + enc(name) + '/versions?limit=100&before=' + next)
        .then(function (p) {
          p.versions.forEach(function (v) {
            tbody.appendChild(
              el.apply(
                null,
                ['tr', null].concat(
                  versionRow(name, v).map(function (c) {
                    return el('td', null, c);
                  }),
                ),
              ),
            );
          });
          next = p.next;
          more.hidden = next === null;
        })
        .catch(showError);
    });
    return el('section', { 'aria-labelledby': 'versions-h' }, el('h2', { id: 'versions-h' }, 'Versions'), wrap, more);
  }

  /** Two versions to compare: a number or a tag each; an empty "to" is the current rows. */
  function diffForm(name, from, to) {
    var form = el(
      'form',
      { class: 'filters', 'aria-label': 'compare two versions' },
      el('label', null, 'from ', el('input', { name: 'from', value: from, size: 8, required: true })),
      el('label', null, 'to ', el('input', { name: 'to', value: to, size: 8, placeholder: 'current' })),
      el('button', { type: 'submit' }, 'Show diff'),
    );
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      location.hash = versionsHash(name, form.from.value.trim(), form.to.value.trim());
    });
    return form;
  }

  var KINDS = [
    ['added', 'Added'],
    ['removed', 'Removed'],
    ['relabelled', 'Relabelled'],
    ['moved', 'Moved to another split'],
  ];

  function diffSection(name, d) {
    var side = function (v) {
      return v === null ? name + ' (current)' : name + '@' + v;
    };
    var t = d.totals;
    var counts = [];
    KINDS.forEach(function (k) {
      Object.keys(d.counts[k[0]]).forEach(function (what) {
        counts.push([k[0], what, String(d.counts[k[0]][what])]);
      });
    });
    var parts = [
      el('h2', { id: 'diff-h' }, 'Diff ' + side(d.from) + ' → ' + side(d.to)),
      el(
        'p',
        { class: 'diff-totals' },
        t.added + ' added · ' + t.removed + ' removed · ' + t.relabelled + ' relabelled · ' + t.moved + ' moved',
      ),
      counts.length
        ? table('Rows changed, per label', ['change', 'label', 'rows'], counts)
        : el('p', null, 'No change.'),
    ];
    KINDS.forEach(function (k) {
      var rows = d.rows[k[0]];
      if (rows.length === 0) return;
      var changed = k[0] === 'relabelled' || k[0] === 'moved';
      parts.push(
        el(
          'details',
          { open: k[0] === 'relabelled' },
          el(
            'summary',
            null,
            k[1] + ' (' + plural(t[k[0]], 'row') + (rows.length < t[k[0]] ? ', the first ' + rows.length : '') + ')',
          ),
          table(
            k[1] + ' rows',
            changed ? ['image', 'row', 'from', 'to'] : ['image', 'row', 'label', 'split'],
            rows.map(function (r) {
              // A removed row is drawn as the "from" side held it; any other as the "to" side does.
              var img = ui.thumb(name, r.id, 'row ' + r.id, k[0] === 'removed' ? d.from : d.to);
              return changed ? [img, String(r.id), r.from, r.to] : [img, String(r.id), r.label, r.split];
            }),
          ),
        ),
      );
    });
    return el.apply(null, ['section', { 'aria-labelledby': 'diff-h' }].concat(parts));
  }

  function versionsView(name, params) {
    var from = params.get('from') || '';
    var to = params.get('to') || '';
    var base = 'api/tables/' + enc(name);
    var q = new URLSearchParams();
    if (from) q.set('from', from);
    if (to) q.set('to', to);
    return Promise.all([
      api(base + '/versions?limit=100'),
      from || to ? api(base + '/diff?' + q) : Promise.resolve(null),
    ]).then(function (r) {
      show(
        setTitle('Versions of ' + name),
        el(
          'p',
          null,
          el('a', { href: '#/datasets/' + enc(name) }, '← ' + name),
          ' · current version ' + r[0].current + ' · ',
          el('a', { href: '#/datasets/' + enc(name) + '/suspects' }, 'suspects'),
        ),
        diffForm(name, from, to),
        r[1] && diffSection(name, r[1]),
        versionList(name, r[0]),
      );
    });
  }

  ui.views.versions = versionsView;
})(window.mldbDashboard);
