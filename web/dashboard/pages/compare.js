/* Runs side by side: their validation curves and the settings that differ. */
(function (ui) {
  'use strict';

  var el = ui.el;
  var api = ui.api;
  var enc = ui.enc;
  var pct = ui.pct;
  var setTitle = ui.setTitle;
  var table = ui.table;
  var show = ui.show;
  var charts = window.mldbCharts;

  function compareView(ids) {
    return api('api/compare?ids=' + enc(ids)).then(function (r) {
      var c = ui.curveCharts(r.runs);
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

  ui.views.compare = compareView;
})(window.mldbDashboard);
