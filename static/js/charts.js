/* Small SVG charts drawn in the browser, no library: time series, scatter with a Pareto front, ROC curves. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#1d4ed8", "#b45309", "#047857", "#be123c", "#6d28d9", "#0e7490", "#4d7c0f", "#9d174d", "#334155", "#a16207"];

  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function frame(container, label, width, height) {
    container.textContent = "";
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": label });
    svg.appendChild(svgEl("title", {}, label));
    container.appendChild(svg);
    return svg;
  }

  function extent(values, pad) {
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (lo === hi) { lo -= 0.5 * (Math.abs(lo) || 1) * (pad || 0.1); hi += 0.5 * (Math.abs(hi) || 1) * (pad || 0.1); }
    return [lo, hi];
  }

  function axes(svg, box, xs, ys, xLabel, yLabel, xTicks, yTicks, xFormat, yFormat) {
    var i;
    for (i = 0; i < yTicks.length; i++) {
      var y = ys(yTicks[i]);
      svg.appendChild(svgEl("line", { x1: box.left, x2: box.right, y1: y, y2: y, "class": "grid" }));
      svg.appendChild(svgEl("text", { x: box.left - 6, y: y + 4, "text-anchor": "end" }, yFormat(yTicks[i])));
    }
    for (i = 0; i < xTicks.length; i++) {
      var x = xs(xTicks[i]);
      svg.appendChild(svgEl("line", { x1: x, x2: x, y1: box.bottom, y2: box.bottom + 4, "class": "axis" }));
      svg.appendChild(svgEl("text", { x: x, y: box.bottom + 16, "text-anchor": "middle" }, xFormat(xTicks[i])));
    }
    svg.appendChild(svgEl("line", { x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom, "class": "axis" }));
    svg.appendChild(svgEl("line", { x1: box.left, x2: box.left, y1: box.top, y2: box.bottom, "class": "axis" }));
    svg.appendChild(svgEl("text", { x: (box.left + box.right) / 2, y: box.bottom + 32, "text-anchor": "middle" }, xLabel));
    svg.appendChild(svgEl("text", { x: 12, y: (box.top + box.bottom) / 2, "text-anchor": "middle",
      transform: "rotate(-90 12 " + ((box.top + box.bottom) / 2) + ")" }, yLabel));
  }

  function linearTicks(lo, hi, count) {
    var step = (hi - lo) / count, ticks = [];
    for (var i = 0; i <= count; i++) ticks.push(lo + i * step);
    return ticks;
  }

  function legend(svg, names, x, y) {
    var g = svgEl("g", { "class": "legend" });
    names.slice(0, 10).forEach(function (name, i) {
      g.appendChild(svgEl("rect", { x: x, y: y + i * 15, width: 10, height: 10, fill: PALETTE[i % PALETTE.length] }));
      g.appendChild(svgEl("text", { x: x + 14, y: y + i * 15 + 9 }, name.length > 18 ? name.slice(0, 17) + "…" : name));
    });
    svg.appendChild(g);
  }

  function empty(container, text) {
    container.textContent = "";
    container.appendChild(document.createElement("p")).textContent = text;
    container.firstChild.className = "muted";
  }

  /* series: [{name, points: [{t: Date, v: number}]}] drawn as step lines (best so far). */
  function history(container, series, opts) {
    series = series.filter(function (s) { return s.points.length; });
    if (!series.length) return empty(container, "No scores yet.");
    var W = 560, H = 300, box = { left: 56, right: W - 130, top: 12, bottom: H - 44 };
    var times = [], values = [];
    series.forEach(function (s) { s.points.forEach(function (p) { times.push(p.t.getTime()); values.push(p.v); }); });
    var now = Date.now(); times.push(now);
    var tx = extent(times), vy = extent(values, 0.2);
    var xs = function (t) { return box.left + (t - tx[0]) / (tx[1] - tx[0]) * (box.right - box.left); };
    var ys = function (v) { return box.bottom - (v - vy[0]) / (vy[1] - vy[0]) * (box.bottom - box.top); };
    var svg = frame(container, opts.label, W, H);
    var dateFmt = function (t) { var d = new Date(t); return (d.getUTCMonth() + 1) + "/" + d.getUTCDate() + " " + String(d.getUTCHours()).padStart(2, "0") + ":" + String(d.getUTCMinutes()).padStart(2, "0"); };
    axes(svg, box, xs, ys, "time (UTC)", opts.yLabel, linearTicks(tx[0], tx[1], 3), linearTicks(vy[0], vy[1], 4),
      dateFmt, function (v) { return v.toFixed(opts.precision > 3 ? 3 : opts.precision); });
    series.forEach(function (s, i) {
      var colour = PALETTE[i % PALETTE.length], d = "";
      s.points.forEach(function (p, j) {
        var x = xs(p.t.getTime()).toFixed(1), y = ys(p.v).toFixed(1);
        d += j === 0 ? "M" + x + "," + y : "H" + x + "V" + y;
      });
      d += "H" + xs(now).toFixed(1);
      svg.appendChild(svgEl("path", { d: d, fill: "none", stroke: colour, "stroke-width": 2 }));
      s.points.forEach(function (p) {
        var c = svgEl("circle", { cx: xs(p.t.getTime()), cy: ys(p.v), r: 3, fill: colour });
        c.appendChild(svgEl("title", {}, s.name + ": " + p.v + " at " + p.t.toISOString().slice(0, 16).replace("T", " ")));
        svg.appendChild(c);
      });
    });
    legend(svg, series.map(function (s) { return s.name; }), box.right + 10, box.top);
  }

  /* points: [{name, x, y, baseline}]; xBetter/yBetter: "higher" | "lower". */
  function pareto(container, points, opts) {
    points = points.filter(function (p) { return p.x !== null && p.y !== null && p.x !== undefined && p.y !== undefined; });
    if (!points.length) return empty(container, "No defense has both scores yet.");
    var W = 560, H = 320, box = { left: 56, right: W - 20, top: 12, bottom: H - 44 };
    var xr = extent(points.map(function (p) { return p.x; }), 0.2), yr = extent(points.map(function (p) { return p.y; }), 0.2);
    var xs = function (v) { return box.left + (v - xr[0]) / (xr[1] - xr[0]) * (box.right - box.left); };
    var ys = function (v) { return box.bottom - (v - yr[0]) / (yr[1] - yr[0]) * (box.bottom - box.top); };
    var svg = frame(container, opts.label, W, H);
    axes(svg, box, xs, ys, opts.xLabel + (opts.xBetter === "higher" ? " →  better" : " ←  better"),
      opts.yLabel + (opts.yBetter === "higher" ? " ↑ better" : " ↓ better"),
      linearTicks(xr[0], xr[1], 4), linearTicks(yr[0], yr[1], 4),
      function (v) { return v.toFixed(2); }, function (v) { return v.toFixed(2); });
    var sx = opts.xBetter === "higher" ? 1 : -1, sy = opts.yBetter === "higher" ? 1 : -1;
    var front = points.filter(function (p) {
      return !points.some(function (q) {
        return q !== p && sx * q.x >= sx * p.x && sy * q.y >= sy * p.y && (sx * q.x > sx * p.x || sy * q.y > sy * p.y);
      });
    }).sort(function (a, b) { return a.x - b.x; });
    if (front.length > 1) {
      svg.appendChild(svgEl("polyline", { points: front.map(function (p) { return xs(p.x) + "," + ys(p.y); }).join(" "),
        fill: "none", stroke: "#047857", "stroke-width": 2, "stroke-dasharray": "5 3" }));
    }
    points.forEach(function (p) {
      var onFront = front.indexOf(p) >= 0;
      var mark = p.baseline
        ? svgEl("rect", { x: xs(p.x) - 4, y: ys(p.y) - 4, width: 8, height: 8, fill: "#6b7280" })
        : svgEl("circle", { cx: xs(p.x), cy: ys(p.y), r: onFront ? 6 : 4.5, fill: onFront ? "#047857" : "#1d4ed8" });
      mark.appendChild(svgEl("title", {}, p.name + (p.baseline ? " (baseline)" : "") + ": " + opts.xLabel + " " + p.x + ", " + opts.yLabel + " " + p.y + (onFront ? " — on the Pareto front" : "")));
      svg.appendChild(mark);
      svg.appendChild(svgEl("text", { x: xs(p.x) + 7, y: ys(p.y) - 6 }, p.name.length > 16 ? p.name.slice(0, 15) + "…" : p.name));
    });
  }

  /* curves: [{name, points: [[fpr, tpr], ...], baseline}] on log-log axes from 1e-3 to 1. */
  function roc(container, curves, opts) {
    curves = curves.filter(function (c) { return c.points && c.points.length; });
    if (!curves.length) return empty(container, "No ROC curve yet.");
    var W = 560, H = 340, box = { left: 56, right: W - 130, top: 12, bottom: H - 44 }, floor = 1e-3;
    var lx = function (v) { return Math.log10(Math.max(v, floor)); };
    var xs = function (v) { return box.left + (lx(v) + 3) / 3 * (box.right - box.left); };
    var ys = function (v) { return box.bottom - (lx(v) + 3) / 3 * (box.bottom - box.top); };
    var svg = frame(container, opts.label, W, H);
    var ticks = [0.001, 0.01, 0.1, 1];
    axes(svg, box, xs, ys, "false positive rate (log)", "true positive rate (log)", ticks, ticks,
      function (v) { return String(v); }, function (v) { return String(v); });
    svg.appendChild(svgEl("line", { x1: xs(floor), y1: ys(floor), x2: xs(1), y2: ys(1), stroke: "#9ca3af", "stroke-dasharray": "4 4" }));
    curves.slice(0, 10).forEach(function (c, i) {
      var colour = PALETTE[i % PALETTE.length];
      var pts = c.points.filter(function (p) { return p[0] > 0 || p[1] > 0; })
        .map(function (p) { return xs(p[0]).toFixed(1) + "," + ys(p[1]).toFixed(1); }).join(" ");
      var line = svgEl("polyline", { points: pts, fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": c.baseline ? "6 3" : "" });
      line.appendChild(svgEl("title", {}, c.name));
      svg.appendChild(line);
    });
    legend(svg, curves.slice(0, 10).map(function (c) { return c.name + (c.baseline ? " (baseline)" : ""); }), box.right + 10, box.top);
  }

  window.Charts = { history: history, pareto: pareto, roc: roc };
})();
