/* The models page: every stored model, and how to serve it. */
(function (ui) {
  'use strict';

  var el = ui.el;
  var api = ui.api;
  var pct = ui.pct;
  var when = ui.when;
  var setTitle = ui.setTitle;
  var table = ui.table;
  var show = ui.show;

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

  ui.views.models = modelsView;
})(window.mldbDashboard);
