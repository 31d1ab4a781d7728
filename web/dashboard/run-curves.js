/* A run's epochs as chart series: the run page draws one run's curves, the compare page several
   runs' validation curves on one axis. */
(function (ui) {
  'use strict';

  var charts = window.mldbCharts;

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

  ui.curveCharts = curveCharts;
})(window.mldbDashboard);
