/* A run's page: its curves (refreshed while it trains), settings, epochs, stored models and its
   test split (confusion matrix and mistakes). */
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
  var thumb = ui.thumb;
  var charts = window.mldbCharts;
  var fmt = charts.format;

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

  /** The train rows per label a run recorded, and how uneven they are (largest / smallest count). */
  function classCounts(counts) {
    if (!counts) return [];
    var labels = Object.keys(counts);
    var present = labels
      .map(function (l) {
        return counts[l];
      })
      .filter(function (n) {
        return n > 0;
      });
    var ratio = present.length ? Math.max.apply(null, present) / Math.min.apply(null, present) : 1;
    return [
      el('h2', null, 'Classes'),
      el('p', null, 'Imbalance ratio ' + ratio.toFixed(1) + '× (largest / smallest count of train rows)'),
      table(
        'Train rows per label',
        ['label', 'train rows'],
        labels.map(function (l) {
          return [l, String(counts[l])];
        }),
        { class: 'numbers' },
      ),
    ];
  }

  /** The run's settings (and its rows per label) beside its epochs, one row each. */
  function settingsAndEpochs(run) {
    var settings = Object.keys(run.hyperparameters)
      .filter(function (k) {
        return k !== 'classCounts';
      })
      .sort()
      .map(function (k) {
        return [k, JSON.stringify(run.hyperparameters[k])];
      });
    return el(
      'div',
      { class: 'two' },
      el.apply(
        null,
        ['section', null, el('h2', null, 'Settings'), table('Hyperparameters', ['setting', 'value'], settings)].concat(
          classCounts(run.hyperparameters.classCounts),
        ),
      ),
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
    );
  }

  /** The models the run stored, and the command that serves each; nothing when it stored none. */
  function storedModels(models) {
    if (!models.length) return [];
    return [
      el('h2', null, 'Stored models'),
      table(
        'Models this run stored',
        ['model', 'test accuracy', 'serve it'],
        models.map(function (m) {
          return [
            m.name + '@' + m.version,
            pct(m.testAccuracy),
            el('code', null, 'mldb serve --model ' + m.name + '@' + m.version),
          ];
        }),
      ),
    ];
  }

  /** The test split: its confusion matrix, and up to 60 of the images the model got wrong. */
  function testSplit(run) {
    var d = run.testDetails;
    if (!d) return [];
    var parts = [el('h2', null, 'Test split'), confusion(d)];
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
    return parts;
  }

  /** What a run started from (--init-from) and kept fixed (--freeze), as `mldb runs show` says it; null from scratch. */
  function startFrom(hp) {
    var parts = [];
    if (hp.initModel) {
      parts.push(
        'Started from ' +
          hp.initModel +
          ': ' +
          hp.layersCopied +
          ' layers copied' +
          (hp.headRebuilt ? ', head ' + hp.headRebuilt + " rebuilt for this table's labels" : ''),
      );
    }
    if (hp.frozenLayers && hp.frozenLayers.length) {
      var n = hp.frozenLayers.length;
      parts.push(
        'Frozen: ' +
          n +
          (n === 1 ? ' layer (' : ' layers (') +
          hp.frozenLayers[0] +
          (n > 1 ? ' … ' + hp.frozenLayers[n - 1] : '') +
          ')' +
          (hp.unfreezeAt ? ', released at epoch ' + hp.unfreezeAt : ', for the whole run'),
      );
    }
    return parts.length ? el('p', { class: 'start-from' }, parts.join(' · ')) : null;
  }

  function runView(id) {
    var built = null;
    function render(r) {
      var run = r.run;
      var c = ui.curveCharts([run]);
      if (built && built.run.status === 'running') {
        built.loss.update(c.xs, c.loss);
        built.accuracy.update(c.xs, c.accuracy);
        built.lr.update(c.xs, c.lr);
        built.summary.replaceChildren(summaryText(run));
        built.run = run;
        if (run.status !== 'running') return ui.route();
        return;
      }
      var loss = charts.lineChart('Loss', c.xs, c.loss);
      var accuracy = charts.lineChart('Accuracy', c.xs, c.accuracy);
      var lr = charts.lineChart('Learning rate', c.xs, c.lr, { height: 160 });
      var summary = el('p', { 'aria-live': 'polite' }, summaryText(run));
      var parts = [
        setTitle('Run #' + run.id + (run.name ? ' ' + run.name : '')),
        summary,
        // A pruned run's line is why its study stopped it, not an error.
        run.error ? el('p', { class: run.status === 'pruned' ? 'muted' : 'error' }, run.error) : null,
        startFrom(run.hyperparameters),
        el('div', { class: 'charts' }, loss.element, accuracy.element, lr.element),
        settingsAndEpochs(run),
      ].concat(storedModels(r.models), testSplit(run));
      show.apply(null, parts);
      built = { run: run, loss: loss, accuracy: accuracy, lr: lr, summary: summary };
    }
    return api('api/runs/' + enc(id)).then(function (r) {
      render(r);
      if (r.run.status === 'running') {
        // A run still training: its curves grow as epochs are recorded.
        ui.state.poll = setInterval(function () {
          api('api/runs/' + enc(id))
            .then(render)
            .catch(function () {});
        }, 2000);
      }
    });
  }

  ui.views.run = runView;
})(window.mldbDashboard);
