/* The dashboard's router: the hash names a view (pages/), which is built from the JSON API.
   Plain browser JavaScript, served as written; loaded last, after ui.js and the pages. */
(function (ui) {
  'use strict';

  var v = ui.views;
  var view = ui.view;
  var state = ui.state;

  function route() {
    if (state.poll) clearInterval(state.poll);
    state.poll = null;
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
        if (path[1] && path[2] === 'versions') return v.versions(path[1], params);
        if (path[1] && path[2] === 'suspects') return v.suspects(path[1], params);
        return path[1] ? v.dataset(path[1], params) : v.datasets();
      },
      runs: function () {
        return path[1] ? v.run(path[1]) : v.runs(params);
      },
      compare: function () {
        return v.compare(path[1] || '');
      },
      experiments: function () {
        return path[1] ? v.experiment(path[1]) : v.experiments();
      },
      models: v.models,
      predictions: function () {
        return v.predictions(params);
      },
    };
    var show = views[path[0]] || v.datasets;
    view.setAttribute('aria-busy', 'true');
    Promise.resolve()
      .then(show)
      .catch(ui.showError)
      .then(function () {
        view.removeAttribute('aria-busy');
        view.setAttribute('data-ready', location.hash || '#/datasets');
      });
  }
  ui.route = route;

  // The skip link focuses the content without touching the hash (the hash is the route).
  document.querySelector('.skip').addEventListener('click', function (ev) {
    ev.preventDefault();
    view.focus();
  });
  document.getElementById('token-save').addEventListener('click', function () {
    state.token = document.getElementById('token').value.trim();
    sessionStorage.setItem('mldb-ui-token', state.token);
    document.getElementById('token-box').hidden = true;
    start();
  });
  window.addEventListener('hashchange', function () {
    route();
    view.focus();
  });
  /** Whether corrections may be written (a token is set) decides what the views offer. */
  function start() {
    ui.api('api/overview')
      .then(function (o) {
        state.writable = o.writable;
      })
      .catch(function () {})
      .then(route);
  }
  start();
})(window.mldbDashboard);
