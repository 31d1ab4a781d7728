/* The dashboard's shared parts: its state, the JSON API, and the builders every page uses (text
   only: names and labels are the user's data). Each page is a script of its own in pages/ that
   adds its views to `views`; dashboard.js routes the hash to one. Plain browser JavaScript,
   served as written, loaded in order by index.html. */
(function () {
  'use strict';

  var view = document.getElementById('view');
  var statusLine = document.getElementById('status');
  /** The API's token, whether corrections may be written, and the timer that refreshes a running run. */
  var state = { token: sessionStorage.getItem('mldb-ui-token') || '', writable: false, poll: null };

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
    init.headers = Object.assign({}, init.headers || {}, state.token ? { Authorization: 'Bearer ' + state.token } : {});
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

  /**
   * Images of the API behind a token: an <img> cannot send the Authorization header, so the bytes
   * are fetched with it when the image comes near the screen, and shown from a blob: URL.
   */
  var nearScreen = new IntersectionObserver(
    function (entries) {
      entries.forEach(function (e) {
        if (!e.isIntersecting) return;
        nearScreen.unobserve(e.target);
        var img = e.target;
        fetch(img.getAttribute('data-src'), { headers: { Authorization: 'Bearer ' + state.token } })
          .then(function (r) {
            if (!r.ok) throw new Error('HTTP ' + r.status);
            return r.blob();
          })
          .then(function (b) {
            var url = URL.createObjectURL(b);
            img.addEventListener('load', function () {
              URL.revokeObjectURL(url);
            });
            img.src = url;
          })
          .catch(function () {
            img.alt += ' (not loaded)';
          });
      });
    },
    { rootMargin: '200px' },
  );

  /** An image of the API (`attrs` without its src): loaded lazily, with the token when there is one. */
  function apiImage(src, attrs) {
    var img = el('img', Object.assign({ loading: 'lazy' }, attrs, state.token ? { 'data-src': src } : { src: src }));
    if (state.token) nearScreen.observe(img);
    return img;
  }

  /** A row's stored pixels; `at` (a version) also reaches a row removed since. */
  function thumb(table, row, label, at) {
    var versioned = at !== undefined && at !== null ? '?at=' + enc(at) : '';
    return apiImage('api/tables/' + enc(table) + '/images/' + row + '.png' + versioned, {
      alt: label,
      width: 64,
      height: 64,
      class: 'thumb',
    });
  }

  window.mldbDashboard = {
    view: view,
    statusLine: statusLine,
    state: state,
    /** Each view builds the page from the API and returns a promise; dashboard.js picks one by the hash. */
    views: {},
    /** Shows the view the hash names again (dashboard.js sets it). */
    route: null,
    el: el,
    api: api,
    enc: enc,
    plural: plural,
    pct: pct,
    when: when,
    setTitle: setTitle,
    table: table,
    show: show,
    showError: showError,
    thumb: thumb,
    apiImage: apiImage,
  };
})();
