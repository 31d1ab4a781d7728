/* The experiments page: every experiment, and one experiment's runs against the settings that
   vary (parallel coordinates and a table). */
(function (ui) {
  'use strict';

  var el = ui.el;
  var api = ui.api;
  var enc = ui.enc;
  var pct = ui.pct;
  var when = ui.when;
  var setTitle = ui.setTitle;
  var table = ui.table;
  var show = ui.show;
  var charts = window.mldbCharts;

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

  /** One axis per setting that varies, and the metric last: each axis has a value per run. */
  function experimentAxes(runs, keys, metricName) {
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
    return axes;
  }

  /** The runs best first by the metric (the last axis), each with its settings. */
  function rankedRows(runs, ids, axes) {
    return ids
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
      });
  }

  function experimentView(name) {
    return api('api/experiments/' + enc(name)).then(function (r) {
      var runs = r.runs;
      var keys = r.differing;
      var metricName = runs.some(function (x) {
        return x.test;
      })
        ? 'test accuracy'
        : 'val accuracy';
      var axes = experimentAxes(runs, keys, metricName);
      var ids = runs.map(function (x) {
        return x.id;
      });
      show(
        setTitle('Experiment ' + name),
        el('p', null, runs.length + ' runs · settings that vary: ' + (keys.join(', ') || 'none')),
        charts.parallelCoordinates('Settings against ' + metricName, axes, ids),
        table(
          'Runs by ' + metricName + ', best first',
          ['run'].concat(keys, [metricName, 'status']),
          rankedRows(runs, ids, axes),
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

  ui.views.experiments = experimentsView;
  ui.views.experiment = experimentView;
})(window.mldbDashboard);
