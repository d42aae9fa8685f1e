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

  /* The drawing's width in SVG units: the container's width in pixels, within [320, max], so that
     text keeps a readable size on a phone instead of shrinking with the whole drawing. */
  function widthFor(container, max) {
    var w = container.clientWidth || max;
    return Math.max(320, Math.min(max, Math.round(w)));
  }

  /* Where a legend goes: beside the plot when there is room, else under it (returns the box and height). */
  function legendLayout(W, H, count, side) {
    if (W >= 480) return { right: W - side, height: H, x: W - side + 10, y: 12 };
    var rows = Math.min(count, 12);
    return { right: W - 30, height: H + rows * 15 + 8, x: 56, y: H + 2 };
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

  function legend(svg, names, x, y, width) {
    var chars = Math.max(8, Math.floor(((width || 160) - 16) / 6.2));
    var g = svgEl("g", { "class": "legend" });
    names.slice(0, 10).forEach(function (name, i) {
      g.appendChild(svgEl("rect", { x: x, y: y + i * 15, width: 10, height: 10, fill: PALETTE[i % PALETTE.length] }));
      g.appendChild(svgEl("text", { x: x + 14, y: y + i * 15 + 9 }, name.length > chars ? name.slice(0, chars - 1) + "…" : name));
    });
    svg.appendChild(g);
  }

  function empty(container, text) {
    container.textContent = "";
    container.appendChild(document.createElement("p")).textContent = text;
    container.firstChild.className = "muted";
  }

  /* Ticks at 1, 2 or 5 × a power of ten covering [lo, hi]; returns {lo, hi, ticks}. */
  function nice(lo, hi, count) {
    var span = hi - lo || 1, raw = span / (count || 4), mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).filter(function (s) { return s >= raw; })[0] || raw;
    var a = Math.floor(lo / step + 1e-9) * step, b = Math.ceil(hi / step - 1e-9) * step, ticks = [];
    for (var v = a; v <= b + step / 2; v += step) ticks.push(Math.round(v / step) * step);
    return { lo: a, hi: b, ticks: ticks, step: step };
  }

  /* The axis range for values of a metric: padded, never past 0 or 1 when every value is a share. */
  function fitRange(values, count) {
    var r = extent(values, 0.2), pad = (r[1] - r[0]) * 0.08;
    var lo = r[0] - pad, hi = r[1] + pad;
    var share = values.every(function (v) { return v >= 0 && v <= 1; });
    if (share) { lo = Math.max(0, lo); hi = Math.min(1, hi); }
    else if (values.every(function (v) { return v >= 0; })) lo = Math.max(0, lo);
    var n = nice(lo, hi, count);
    if (share) { n.lo = Math.max(0, n.lo); n.hi = Math.min(1, n.hi); n.ticks = n.ticks.filter(function (t) { return t >= -1e-9 && t <= 1 + 1e-9; }); }
    return n;
  }

  /* The digits a tick step needs (0.25 → 2, 0.2 → 1, 5 → 0). */
  function decimals(step) {
    for (var d = 0; d < 4; d++) if (Math.abs(Math.round(step * Math.pow(10, d)) - step * Math.pow(10, d)) < 1e-6) return d;
    return 4;
  }

  /* Labels beside points without overlapping each other, the points or the plot's edges. A label
     that fits nowhere becomes a number, explained in a list under the chart. */
  function placeLabels(svg, items, box, marks) {
    var placed = [], notes = [];
    function overlaps(r) {
      return placed.some(function (q) { return r.x < q.x + q.w && q.x < r.x + r.w && r.y < q.y + q.h && q.y < r.y + r.h; }) ||
        marks.some(function (m) { return m.x + 5 > r.x && m.x - 5 < r.x + r.w && m.y + 5 > r.y && m.y - 5 < r.y + r.h; });
    }
    function measure(text) {  // the label's real width where the browser can tell, else an estimate
      var probe = svgEl("text", { "class": "point-label", x: 0, y: 0 }, text);
      svg.appendChild(probe);
      var width = probe.getComputedTextLength ? probe.getComputedTextLength() : 0;
      svg.removeChild(probe);
      return (width || text.length * 6.2) + 4;
    }
    function attempt(item, text) {
      var w = measure(text), h = 14;
      var spots = [[9, -4, "start"], [-9, -4, "end"], [9, 10, "start"], [-9, 10, "end"], [0, -12, "middle"], [0, 19, "middle"],
                   [9, -16, "start"], [-9, -16, "end"], [9, 22, "start"], [-9, 22, "end"]];
      for (var i = 0; i < spots.length; i++) {
        var dx = spots[i][0], dy = spots[i][1], anchor = spots[i][2];
        var x = anchor === "start" ? item.x + dx : anchor === "end" ? item.x + dx - w : item.x - w / 2;
        var r = { x: x, y: item.y + dy - 10, w: w, h: h };
        if (r.x < box.left + 2 || r.x + r.w > box.right + 18 || r.y < box.top - 8 || r.y + r.h > box.bottom - 1) continue;
        if (overlaps(r)) continue;
        placed.push(r);
        svg.appendChild(svgEl("text", { x: item.x + dx, y: item.y + dy, "text-anchor": anchor, "class": "point-label" }, text));
        return true;
      }
      return false;
    }
    items.forEach(function (item) {
      var text = item.text.length > 34 ? item.text.slice(0, 33) + "…" : item.text;
      if (attempt(item, text)) return;
      var number = String(notes.length + 1);
      notes.push(number + " = " + item.text);
      attempt(item, number);
    });
    return notes;
  }

  function notesList(container, notes) {
    if (!notes.length) return;
    var list = document.createElement("p");
    list.className = "chart-notes muted";
    list.textContent = "Numbered points: " + notes.join("; ") + ".";
    container.appendChild(list);
  }

  /* series: [{name, points: [{t: Date, v: number}], baseline}] drawn as step lines (best so far);
     a baseline is a dashed reference line at its score, marked "(baseline)" in the legend. */
  function history(container, series, opts) {
    series = series.filter(function (s) { return s.points.length; });
    if (!series.length) return empty(container, "No scores yet.");
    var W = widthFor(container, 600), lay = legendLayout(W, 300, series.length + 1, 180);
    var H = lay.height, box = { left: 56, right: lay.right, top: 12, bottom: 300 - 44 };
    var times = [], values = [];
    series.forEach(function (s) { s.points.forEach(function (p) { if (!s.baseline) times.push(p.t.getTime()); values.push(p.v); }); });
    var now = Date.now(); times.push(now);
    if (times.length === 1) times.push(now - 3600 * 1000);
    var tx = extent(times), vy = fitRange(values, 4);
    var xs = function (t) { return box.left + (Math.max(t, tx[0]) - tx[0]) / (tx[1] - tx[0]) * (box.right - box.left); };
    var ys = function (v) { return box.bottom - (v - vy.lo) / (vy.hi - vy.lo) * (box.bottom - box.top); };
    var svg = frame(container, opts.label, W, H);
    var pad = function (n) { return String(n).padStart(2, "0"); }, span = tx[1] - tx[0];
    var dateFmt = function (t) {  // seconds when the history spans minutes, the day when it spans days
      var d = new Date(t), time = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + (span < 15 * 60 * 1000 ? ":" + pad(d.getUTCSeconds()) : "");
      return span < 24 * 3600 * 1000 ? time : (d.getUTCMonth() + 1) + "/" + d.getUTCDate() + " " + time;
    };
    var digits = Math.max(decimals(vy.step), 0);
    axes(svg, box, xs, ys, "time (UTC)", opts.yLabel, linearTicks(tx[0], tx[1], 3), vy.ticks,
      dateFmt, function (v) { return v.toFixed(digits); });
    var teamIndex = 0, baselineIndex = 0, GREYS = ["#4b5563", "#6b7280", "#9a6b3f", "#5b6f8a", "#7c5b8a", "#3f7a6b"];
    series.forEach(function (s) {
      var colour = s.baseline ? GREYS[baselineIndex++ % GREYS.length] : PALETTE[teamIndex++ % PALETTE.length], d = "";
      s.colour = colour;
      if (s.baseline) {
        var v = s.points[s.points.length - 1].v;
        var line = svgEl("line", { x1: box.left, x2: box.right, y1: ys(v), y2: ys(v), stroke: colour, "stroke-width": 1.5, "stroke-dasharray": "6 4", "class": "baseline-line" });
        line.appendChild(svgEl("title", {}, s.name + " (baseline): " + v));
        svg.appendChild(line);
        return;
      }
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
    /* The legend: teams first, then the baselines under a heading that says how they are drawn. */
    var g = svgEl("g", { "class": "legend" }), entries = [];
    series.filter(function (s) { return !s.baseline; }).forEach(function (s) { entries.push(s); });
    if (series.some(function (s) { return s.baseline; })) {
      entries.push({ heading: "Baselines (dashed):" });
      series.filter(function (s) { return s.baseline; }).forEach(function (s) { entries.push(s); });
    }
    entries.slice(0, 13).forEach(function (s, i) {
      var y = lay.y + i * 15, x = lay.x;
      if (s.heading) { g.appendChild(svgEl("text", { x: x, y: y + 9, "font-weight": "600" }, s.heading)); return; }
      if (s.baseline) g.appendChild(svgEl("line", { x1: x, x2: x + 10, y1: y + 5, y2: y + 5, stroke: s.colour, "stroke-width": 2, "stroke-dasharray": "3 2" }));
      else g.appendChild(svgEl("rect", { x: x, y: y, width: 10, height: 10, fill: s.colour }));
      var name = s.name;
      var chars = Math.max(8, Math.floor((W - x - 18) / 6.2));
      g.appendChild(svgEl("text", { x: x + 14, y: y + 9 }, name.length > chars ? name.slice(0, chars - 1) + "…" : name));
    });
    svg.appendChild(g);
  }

  /* points: [{name, x, y, xLow, xHigh, yLow, yHigh, baseline}]; xBetter/yBetter: "higher" | "lower".
     Intervals are drawn as whiskers; the Pareto front joins the points no other beats on both. */
  function pareto(container, points, opts) {
    points = points.filter(function (p) { return p.x !== null && p.y !== null && p.x !== undefined && p.y !== undefined; });
    if (!points.length) return empty(container, opts.emptyText || "No defense has both scores yet.");
    var W = widthFor(container, 600), H = W < 480 ? 340 : 380, box = { left: 60, right: W - 24, top: 16, bottom: H - 52 };
    var xv = [], yv = [];
    points.forEach(function (p) {
      xv.push(p.x); yv.push(p.y);
      [p.xLow, p.xHigh].forEach(function (v) { if (v !== null && v !== undefined) xv.push(v); });
      [p.yLow, p.yHigh].forEach(function (v) { if (v !== null && v !== undefined) yv.push(v); });
    });
    var xr = opts.xRange ? nice(opts.xRange[0], opts.xRange[1], 5) : fitRange(xv, 5), yr = fitRange(yv, 4);
    var xs = function (v) { return box.left + (v - xr.lo) / (xr.hi - xr.lo) * (box.right - box.left); };
    var ys = function (v) { return box.bottom - (v - yr.lo) / (yr.hi - yr.lo) * (box.bottom - box.top); };
    var svg = frame(container, opts.label, W, H);
    axes(svg, box, xs, ys, opts.xLabel + (opts.xBetter === "higher" ? "  (more private →)" : "  (← more private)"),
      opts.yLabel + (opts.yBetter === "higher" ? " (↑ better)" : " (↓ better)"),
      xr.ticks, yr.ticks, function (v) { return v.toFixed(decimals(xr.step)); }, function (v) { return v.toFixed(decimals(yr.step)); });
    var sx = opts.xBetter === "higher" ? 1 : -1, sy = opts.yBetter === "higher" ? 1 : -1;
    var front = points.filter(function (p) {
      return !points.some(function (q) {
        return q !== p && sx * q.x >= sx * p.x && sy * q.y >= sy * p.y && (sx * q.x > sx * p.x || sy * q.y > sy * p.y);
      });
    }).sort(function (a, b) { return a.x - b.x; });
    if (front.length > 1) {
      svg.appendChild(svgEl("polyline", { points: front.map(function (p) { return xs(p.x) + "," + ys(p.y); }).join(" "),
        fill: "none", stroke: "#047857", "stroke-width": 2, "stroke-dasharray": "5 3", "class": "front" }));
    }
    var marks = [];
    points.forEach(function (p) {
      var x = xs(p.x), y = ys(p.y);
      if (p.xLow !== null && p.xLow !== undefined && p.xHigh !== null && p.xHigh !== undefined) {
        svg.appendChild(svgEl("line", { x1: xs(p.xLow), x2: xs(p.xHigh), y1: y, y2: y, stroke: "#9ca3af", "stroke-width": 1.5, "class": "interval" }));
      }
      if (p.yLow !== null && p.yLow !== undefined && p.yHigh !== null && p.yHigh !== undefined) {
        svg.appendChild(svgEl("line", { x1: x, x2: x, y1: ys(p.yLow), y2: ys(p.yHigh), stroke: "#9ca3af", "stroke-width": 1.5, "class": "interval" }));
      }
      marks.push({ x: x, y: y });
    });
    points.forEach(function (p) {
      var onFront = front.indexOf(p) >= 0, x = xs(p.x), y = ys(p.y);
      var mark = p.baseline
        ? svgEl("rect", { x: x - 5, y: y - 5, width: 10, height: 10, fill: onFront ? "#047857" : "#6b7280" })
        : svgEl("circle", { cx: x, cy: y, r: onFront ? 6 : 4.5, fill: onFront ? "#047857" : "#1d4ed8" });
      mark.setAttribute("class", "point" + (onFront ? " on-front" : ""));
      mark.setAttribute("data-name", p.name);
      mark.setAttribute("data-x", p.x);
      mark.setAttribute("data-y", p.y);
      mark.appendChild(svgEl("title", {}, p.name + (p.baseline ? " (baseline)" : "") + ": " + opts.xLabel + " " + p.x + ", " + opts.yLabel + " " + p.y + (onFront ? " — on the Pareto front" : "")));
      svg.appendChild(mark);
    });
    var order = points.slice().sort(function (a, b) { return (front.indexOf(b) >= 0) - (front.indexOf(a) >= 0) || ys(a.y) - ys(b.y); });
    var notes = placeLabels(svg, order.map(function (p) { return { x: xs(p.x), y: ys(p.y), text: p.name }; }), box, marks);
    notesList(container, notes);
    var key = document.createElement("p");
    key.className = "chart-notes muted";
    key.textContent = "Squares: organizer baselines; circles: teams; green: on the Pareto front" +
      (points.some(function (p) { return p.xLow !== undefined && p.xLow !== null; }) ? "; grey whiskers: 95% confidence intervals." : ".");
    container.appendChild(key);
  }

  /* curves: [{name, points: [[fpr, tpr], ...], baseline}] on log-log axes from 1e-3 to 1. */
  function roc(container, curves, opts) {
    curves = curves.filter(function (c) { return c.points && c.points.length; });
    if (!curves.length) return empty(container, "No ROC curve yet.");
    var W = widthFor(container, 600), lay = legendLayout(W, 340, Math.min(curves.length, 10), 170);
    var H = lay.height, box = { left: 56, right: lay.right, top: 12, bottom: 340 - 44 }, floor = 1e-3;
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
    legend(svg, curves.slice(0, 10).map(function (c) { return c.name + (c.baseline ? " (baseline)" : ""); }), lay.x, lay.y, W - lay.x - 4);
  }

  window.Charts = { history: history, pareto: pareto, roc: roc };
})();
