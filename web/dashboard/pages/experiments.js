/* The experiments page: every experiment, and one experiment's runs against the settings that
   vary (parallel coordinates and a table), with its live study (trials by state and worker). */
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

  /** Each trial's reported values per epoch as chart series; pruned trials grey. The latest 40. */
  function trialSeries(rows, xs) {
    return rows
      .filter(function (t) {
        return t.steps.length > 0;
      })
      .slice(-40)
      .map(function (t, i) {
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
  }

  function studySummary(study) {
    var counts = {};
    study.rows.forEach(function (t) {
      counts[t.state] = (counts[t.state] || 0) + 1;
    });
    var states = ['completed', 'running', 'pruned', 'waiting', 'failed']
      .filter(function (k) {
        return counts[k];
      })
      .map(function (k) {
        return counts[k] + ' ' + k;
      });
    return (
      study.rows.length +
      ' of ' +
      study.trials +
      ' trials (' +
      study.sampler +
      (study.pruner === 'none' ? '' : ', ' + study.pruner + ' pruner') +
      ', chosen by ' +
      study.objective +
      '): ' +
      (states.join(' · ') || 'none yet')
    );
  }

  /** The plan's study as it runs: trials by state, the worker of each, their values per epoch. */
  function studySection(study) {
    if (!study) return null;
    var last = 0;
    study.rows.forEach(function (t) {
      t.steps.forEach(function (s) {
        last = Math.max(last, s[0]);
      });
    });
    var xs = [];
    for (var i = 1; i <= last; i++) xs.push(i);
    var series = trialSeries(study.rows, xs);
    return el(
      'section',
      { 'aria-label': 'study' },
      el('h2', null, 'Study'),
      el('p', null, studySummary(study)),
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
            t.state === 'waiting' || t.state === 'failed' ? '–' : t.worker || '–',
            String(t.steps.length),
            t.value === null ? '–' : charts.format(t.value),
            t.runId ? el('a', { href: '#/runs/' + t.runId }, '#' + t.runId) : '–',
          ];
        }),
      ),
    );
  }

  function isLive(study) {
    return (
      Boolean(study) &&
      study.rows.some(function (t) {
        return t.state === 'running' || t.state === 'waiting';
      })
    );
  }

  /** A live study's section follows its trials as workers claim and finish them. */
  function followStudy(name) {
    ui.state.poll = setInterval(function () {
      api('api/experiments/' + enc(name))
        .then(function (next) {
          var old = document.querySelector('section[aria-label="study"]');
          var fresh = studySection(next.study);
          if (old && fresh) old.replaceWith(fresh);
          if (!isLive(next.study) && ui.state.poll) clearInterval(ui.state.poll);
        })
        .catch(function () {});
    }, 2000);
  }

  function experimentView(name) {
    return api('api/experiments/' + enc(name)).then(function (r) {
      if (isLive(r.study)) followStudy(name);
      if (r.runs.length === 0) {
        show(setTitle('Experiment ' + name), studySection(r.study));
        return;
      }
      var runs = r.runs;
      var keys = r.differing;
      // Ranked on validation, as `mldb experiment` chooses: the test split is for reporting the
      // chosen run, never for choosing it (test accuracy only when no run has a validation score).
      var metricName = runs.some(function (x) {
        return x.final && x.final.valAccuracy !== null;
      })
        ? 'val accuracy'
        : 'test accuracy';
      var axes = experimentAxes(runs, keys, metricName);
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
