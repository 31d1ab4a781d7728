/* global uPlot */
/* Charts of the dashboard: curves with uPlot (bundled, served by mldb), the parallel-coordinates
   chart by hand in SVG (no small, well-kept library draws one), and a text alternative for each. */
(function () {
  'use strict';

  var PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4d7c0f'];
  var SVG = 'http://www.w3.org/2000/svg';

  function color(i) {
    return PALETTE[i % PALETTE.length];
  }

  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    if (typeof v !== 'number') return String(v);
    if (v !== 0 && (Math.abs(v) < 0.001 || Math.abs(v) >= 1e5)) return v.toExponential(2);
    return String(Math.round(v * 10000) / 10000);
  }

  /** A chart's frame: a figure captioned with its title. */
  function chartFigure(title) {
    var figure = document.createElement('figure');
    figure.className = 'chart';
    var caption = document.createElement('figcaption');
    caption.textContent = title;
    figure.appendChild(caption);
    return figure;
  }

  /** A table with the chart's numbers, for screen readers and for reading exact values. */
  function dataTable(caption, header, rows) {
    var details = document.createElement('details');
    var summary = document.createElement('summary');
    summary.textContent = 'Data as a table';
    details.appendChild(summary);
    var table = document.createElement('table');
    var cap = document.createElement('caption');
    cap.textContent = caption;
    table.appendChild(cap);
    var tr = document.createElement('tr');
    header.forEach(function (h) {
      var th = document.createElement('th');
      th.scope = 'col';
      th.textContent = h;
      tr.appendChild(th);
    });
    var thead = document.createElement('thead');
    thead.appendChild(tr);
    table.appendChild(thead);
    var tbody = document.createElement('tbody');
    rows.forEach(function (r) {
      var row = document.createElement('tr');
      r.forEach(function (c) {
        var td = document.createElement('td');
        td.textContent = fmt(c);
        row.appendChild(td);
      });
      tbody.appendChild(row);
    });
    table.appendChild(tbody);
    details.appendChild(table);
    return details;
  }

  /**
   * Curves over epochs. series: [{ label, values: [y per epoch or null] }]; xs: the epochs.
   * Returns { element, update(xs, series) } so that a running run's chart grows in place.
   */
  function lineChart(title, xs, series, opts) {
    opts = opts || {};
    var figure = chartFigure(title);
    var plotBox = document.createElement('div');
    plotBox.className = 'plot';
    plotBox.setAttribute('role', 'img');
    figure.appendChild(plotBox);
    var tableBox = document.createElement('div');
    figure.appendChild(tableBox);
    var plot = null;

    function describe(xsNow, seriesNow) {
      var parts = seriesNow.map(function (s) {
        var last = null;
        for (var i = s.values.length - 1; i >= 0; i--)
          if (s.values[i] !== null && s.values[i] !== undefined) {
            last = s.values[i];
            break;
          }
        return s.label + ' ' + fmt(last);
      });
      plotBox.setAttribute(
        'aria-label',
        title + ' over ' + xsNow.length + ' epochs; last values: ' + (parts.join(', ') || 'none'),
      );
      tableBox.replaceChildren(
        dataTable(
          title,
          ['epoch'].concat(
            seriesNow.map(function (s) {
              return s.label;
            }),
          ),
          xsNow.map(function (x, i) {
            return [x].concat(
              seriesNow.map(function (s) {
                return s.values[i];
              }),
            );
          }),
        ),
      );
    }

    function draw(xsNow, seriesNow) {
      describe(xsNow, seriesNow);
      var data = [xsNow].concat(
        seriesNow.map(function (s) {
          return s.values.map(function (v) {
            return v === undefined ? null : v;
          });
        }),
      );
      if (plot && plot.series.length === seriesNow.length + 1) {
        plot.setData(data);
        return;
      }
      if (plot) plot.destroy();
      var width = plotBox.clientWidth || 360;
      plot = new uPlot(
        {
          width: width,
          height: opts.height || 220,
          scales: { x: { time: false }, y: opts.log ? { distr: 3 } : {} },
          // Epochs are whole numbers: ticks at 1, 2, 5, 10… apart, never between two epochs.
          axes: [{ label: 'epoch', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, { size: 60 }],
          legend: { live: true },
          cursor: { drag: { x: false, y: false } },
          series: [{ label: 'epoch' }].concat(
            seriesNow.map(function (s, i) {
              return { label: s.label, stroke: s.color || color(i), width: 2, spanGaps: true, points: { size: 5 } };
            }),
          ),
        },
        data,
        plotBox,
      );
    }

    draw(xs, series);
    // The chart is drawn before it is on the page: it takes its box's width once it has one, and
    // follows it when the window changes.
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var w = plotBox.clientWidth;
        if (plot && w > 0 && Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: opts.height || 220 });
      }).observe(plotBox);
    }
    return {
      element: figure,
      update: draw,
    };
  }

  /**
   * Parallel coordinates: one vertical axis per setting and one for the metric; one line per run,
   * coloured by the metric. axes: [{ name, values: [per run], numeric }]; the last is the metric.
   */
  function parallelCoordinates(title, axes, runIds) {
    var figure = chartFigure(title);
    var width = Math.max(420, axes.length * 150);
    var height = 300;
    var pad = { top: 24, bottom: 40, left: 60, right: 60 };
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(height));
    svg.setAttribute('role', 'img');
    var metric = axes[axes.length - 1];
    svg.setAttribute(
      'aria-label',
      title + ': ' + runIds.length + ' runs over ' + (axes.length - 1) + ' settings against ' + metric.name,
    );
    var step = (width - pad.left - pad.right) / Math.max(1, axes.length - 1);
    var scales = axes.map(function (axis) {
      if (axis.numeric) {
        var nums = axis.values.filter(function (v) {
          return typeof v === 'number';
        });
        var lo = Math.min.apply(null, nums);
        var hi = Math.max.apply(null, nums);
        var positive = lo > 0;
        var log = positive && hi / lo >= 100;
        return {
          at: function (v) {
            if (typeof v !== 'number') return null;
            if (hi === lo) return 0.5;
            return log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo);
          },
          ticks: hi === lo ? [lo] : [lo, hi],
        };
      }
      var cats = [];
      axis.values.forEach(function (v) {
        var k = JSON.stringify(v);
        if (cats.indexOf(k) < 0) cats.push(k);
      });
      cats.sort();
      return {
        at: function (v) {
          var i = cats.indexOf(JSON.stringify(v));
          return cats.length === 1 ? 0.5 : i / (cats.length - 1);
        },
        ticks: cats.map(function (c) {
          return JSON.parse(c);
        }),
        categorical: true,
      };
    });
    // Values sit inside each axis (6% from its ends), so lines do not run along the frame.
    function y(frac) {
      return pad.top + (1 - (0.06 + 0.88 * frac)) * (height - pad.top - pad.bottom);
    }
    var mScale = scales[scales.length - 1];
    runIds.forEach(function (id, r) {
      var points = [];
      axes.forEach(function (axis, a) {
        var f = scales[a].at(axis.values[r]);
        if (f !== null) points.push((pad.left + a * step).toFixed(1) + ',' + y(f).toFixed(1));
      });
      var line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('points', points.join(' '));
      line.setAttribute('fill', 'none');
      var m = mScale.at(metric.values[r]);
      line.setAttribute('stroke', m === null ? '#9ca3af' : 'hsl(' + Math.round(m * 220) + ', 75%, 45%)');
      line.setAttribute('stroke-width', '2');
      line.setAttribute('stroke-opacity', '0.8');
      line.setAttribute('class', 'pc-line');
      var t = document.createElementNS(SVG, 'title');
      t.textContent =
        'run ' +
        id +
        ': ' +
        axes
          .map(function (axis) {
            return axis.name + ' ' + fmt(axis.values[r]);
          })
          .join(', ');
      line.appendChild(t);
      svg.appendChild(line);
    });
    axes.forEach(function (axis, a) {
      var x = pad.left + a * step;
      var ax = document.createElementNS(SVG, 'line');
      ax.setAttribute('x1', String(x));
      ax.setAttribute('x2', String(x));
      ax.setAttribute('y1', String(pad.top));
      ax.setAttribute('y2', String(height - pad.bottom));
      ax.setAttribute('class', 'pc-axis');
      svg.appendChild(ax);
      var label = document.createElementNS(SVG, 'text');
      label.setAttribute('x', String(x));
      label.setAttribute('y', String(height - pad.bottom + 22));
      label.setAttribute('text-anchor', 'middle');
      label.setAttribute('class', 'pc-label');
      label.textContent = axis.name;
      svg.appendChild(label);
      scales[a].ticks.forEach(function (tick) {
        var tk = document.createElementNS(SVG, 'text');
        tk.setAttribute('x', String(x + 6));
        // Just above the value's height, so the label does not sit on the lines that pass there.
        tk.setAttribute('y', String(y(scales[a].at(tick)) - 5));
        tk.setAttribute('class', 'pc-tick');
        tk.textContent = fmt(tick);
        svg.appendChild(tk);
      });
    });
    var scroll = document.createElement('div');
    scroll.className = 'scroll';
    scroll.appendChild(svg);
    figure.appendChild(scroll);
    var legend = document.createElement('p');
    legend.className = 'muted small';
    legend.textContent =
      'Each line is a run, coloured by ' +
      metric.name +
      ': red lowest, through green, to blue highest. ' +
      'Hover a line for its values.';
    figure.appendChild(legend);
    figure.appendChild(
      dataTable(
        title,
        ['run'].concat(
          axes.map(function (a) {
            return a.name;
          }),
        ),
        runIds.map(function (id, r) {
          return [id].concat(
            axes.map(function (a) {
              return a.values[r];
            }),
          );
        }),
      ),
    );
    return figure;
  }

  window.mldbCharts = { lineChart: lineChart, parallelCoordinates: parallelCoordinates, format: fmt, color: color };
})();
