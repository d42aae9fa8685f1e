/* Leaderboard page: tabs, live updates over the websocket, charts. */
(function () {
  "use strict";
  var data = Arena.readJson("leaderboard-data");
  if (!data) return;
  var el = Arena.el;
  var boards = { public: data.public, private: data.private };
  var announcer = document.getElementById("announcer");
  var status = document.getElementById("live-status");

  /* ---------------------------------------------------------------- tabs */
  var tabs = Array.prototype.slice.call(document.querySelectorAll('#board-tabs [role="tab"]'));
  function select(tab) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
    var split = tab.id === "tab-private" ? "private" : "public";
    var url = new URL(window.location.href);
    url.searchParams.set("split", split);
    window.history.replaceState(null, "", url);
    followTab(split);
    scrollHints();
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { select(tab); });
    tab.addEventListener("keydown", function (event) {
      var next = null;
      if (event.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
      if (event.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
      if (event.key === "Home") next = tabs[0];
      if (event.key === "End") next = tabs[tabs.length - 1];
      if (next) { event.preventDefault(); next.focus(); select(next); }
    });
  });

  /* ---------------------------------------------------------------- tables */
  function scoreCell(score, metric, primary) {
    var cell = el("td", { className: "num" + (primary ? " primary" : "") }, [Arena.fmt(score && score.value, metric.precision)]);
    if (score && score.ci_low !== null && score.ci_low !== undefined && score.ci_high !== null && score.ci_high !== undefined) {
      cell.appendChild(el("span", { className: "ci", text: "[" + Arena.fmt(score.ci_low, metric.precision) + ", " + Arena.fmt(score.ci_high, metric.precision) + "]" }));
    }
    return cell;
  }

  /* The identifiability report of a defense, for those who may read it: the public split for
     everyone who sees the board; the private split for its team and organizers (baselines: all). */
  function reportVisible(baseline, teamId, split) {
    return split === "public" || baseline || data.organizer || (data.myTeam !== null && teamId === data.myTeam);
  }

  function reportLink(submission, team, split) {
    var href = data.reportUrl.replace("{id}", String(submission)) + (split === "private" ? "?split=private" : "");
    return el("a", { className: "report-link", href: href }, [
      "Identifiability report", el("span", { className: "visually-hidden", text: " of " + team + ", #" + submission })
    ]);
  }

  function renderBoard(board, changed) {
    var table = el("table", { className: "board", "data-split": board.split });
    table.appendChild(el("caption", { className: "visually-hidden", text: board.split + " leaderboard of " + board.task + ", phase " + board.phase }));
    var head = el("tr", {}, [el("th", { scope: "col", className: "num", text: "Rank" }), el("th", { scope: "col", text: "Team" })]);
    var explanations = data.explanations || {};
    board.metrics.forEach(function (m, i) {
      var tip = explanations[m.key] || { text: m.description || "", slug: null };
      head.appendChild(el("th", { scope: "col", className: "num" + (i === 0 ? " primary" : "") }, [
        Arena.term(m.label, tip.text, tip.slug), " ", el("span", { className: "direction", "aria-label": m.direction === "higher" ? "higher is better" : "lower is better", text: m.direction === "higher" ? "↑" : "↓" })
      ]));
    });
    head.appendChild(el("th", { scope: "col", text: "Submitted (UTC)" }));
    table.appendChild(el("thead", {}, [head]));
    var body = el("tbody");
    board.rows.forEach(function (row) {
      var classes = [];
      if (row.baseline) classes.push("baseline");
      if (data.myTeam && row.team_id === data.myTeam) classes.push("mine");
      if (changed && changed[row.submission]) classes.push("flash");
      var team = el("th", { scope: "row", text: row.team });
      if (data.defenseBoard && reportVisible(row.baseline, row.team_id, board.split)) team.append(" ", reportLink(row.submission, row.team, board.split));
      var tr = el("tr", { className: classes.join(" "), "data-submission": row.submission }, [
        el("td", { className: "num" }, [row.baseline ? el("span", { className: "badge", text: "baseline" }) : String(row.rank)]),
        team
      ]);
      board.metrics.forEach(function (m, i) { tr.appendChild(scoreCell(row.scores[m.key], m, i === 0)); });
      tr.appendChild(el("td", {}, [el("time", { datetime: row.created, text: row.created.slice(0, 16).replace("T", " ") })]));
      body.appendChild(tr);
    });
    if (!board.rows.length) {
      body.appendChild(el("tr", { className: "empty" }, [el("td", { colspan: board.metrics.length + 3, text: "No scores yet. The first finished submission appears here." })]));
    }
    table.appendChild(body);
    return el("div", { className: "table-scroll" }, [table]);
  }

  function primaryOf(board) {
    return board.metrics.filter(function (m) { return m.primary; })[0] || board.metrics[0];
  }

  /* Which rows are new or moved, and a sentence for screen readers. */
  function differences(before, after) {
    var changed = {}, sentences = [];
    if (!before) return { changed: changed, sentences: sentences };
    var old = {};
    before.rows.forEach(function (r) { old[r.submission] = r; });
    var primary = primaryOf(after);
    after.rows.forEach(function (r) {
      var prev = old[r.submission];
      var value = primary && r.scores[primary.key] ? r.scores[primary.key].value : null;
      if (!prev || prev.rank !== r.rank || JSON.stringify(prev.scores) !== JSON.stringify(r.scores)) {
        changed[r.submission] = true;
        sentences.push(r.team + (r.baseline ? " (baseline)" : " is now rank " + r.rank) + (primary ? " with " + primary.label + " " + Arena.fmt(value, primary.precision) : ""));
      }
    });
    return { changed: changed, sentences: sentences };
  }

  function announce(text) {
    if (!text) return;
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function show(split, board, diff) {
    boards[split] = board;
    var target = document.getElementById("board-" + split);
    target.textContent = "";
    target.appendChild(renderBoard(board, diff && diff.changed));
    scrollHints();
  }

  /* A board wider than its frame says so above it: rank, team and the primary score stay put,
     the other columns scroll sideways. */
  function scrollHints() {
    ["public", "private"].forEach(function (split) {
      var box = document.getElementById("board-" + split), frame = box && box.querySelector(".table-scroll");
      if (!frame) return;
      var hint = box.querySelector(".scroll-hint");
      var wide = frame.scrollWidth > frame.clientWidth + 1;
      if (wide && !hint) box.insertBefore(el("p", { className: "scroll-hint muted", text: "More columns to the right: scroll the table sideways →" }), frame);
      if (!wide && hint) hint.remove();
    });
  }
  window.addEventListener("resize", scrollHints);

  function revealPrivate(board) {
    var notice = document.getElementById("private-notice");
    notice.textContent = "";
    notice.appendChild(el("p", { className: "muted", text: "Final ranking on the private share, over each team's selected finals (or its best when none were selected)." }));
    document.getElementById("private-csv").hidden = false;
    var lock = document.querySelector("#tab-private .lock");
    if (lock) lock.remove();
    data.privateForAll = true;
    show("private", board);
    announce("The private leaderboard has been revealed.");
  }

  function receive(board) {
    if (board.phase !== data.phase || board.task !== data.task) return;
    if (board.split === "private") {
      if (!data.privateForAll) { revealPrivate(board); drawCharts(); return; }
      var pdiff = differences(boards.private, board);
      show("private", board, pdiff);
      return;
    }
    var diff = differences(boards.public, board);
    if (!Object.keys(diff.changed).length && boards.public) { boards.public = board; return; }
    show("public", board, diff);
    extendHistory(board, diff.changed);
    drawCharts();
    announce(diff.sentences.slice(0, 3).join(". "));
  }

  /* ---------------------------------------------------------------- charts */
  var history = data.history || { teams: [], metric: null };
  function extendHistory(board, changed) {
    var metric = history.metric;
    if (!metric) return;
    board.rows.forEach(function (row) {
      if (row.baseline || !changed[row.submission]) return;
      var score = row.scores[metric.key];
      if (!score || score.value === null) return;
      var team = history.teams.filter(function (t) { return t.team_id === row.team_id; })[0];
      if (!team) { team = { team_id: row.team_id, team: row.team, points: [], best: null }; history.teams.push(team); }
      var last = team.points[team.points.length - 1];
      if (last && last.submission === row.submission) return;
      team.points.push({ at: row.created, value: score.value, submission: row.submission });
    });
  }

  function baselineSeries(board, metric) {
    if (!board || !metric) return [];
    return board.rows.filter(function (r) { return r.baseline && r.scores[metric.key] && r.scores[metric.key].value !== null; })
      .map(function (r) { return { name: r.team, baseline: true, points: [{ t: new Date(r.created), v: r.scores[metric.key].value }] }; });
  }

  function interval(score) {
    return score && score.ci_low !== null && score.ci_low !== undefined && score.ci_high !== null && score.ci_high !== undefined
      ? [score.ci_low, score.ci_high] : [null, null];
  }

  function drawCharts() {
    var historyBox = document.getElementById("chart-history");
    if (historyBox && history.metric) {
      var series = history.teams.map(function (t) {
        return { name: t.team, points: t.points.map(function (p) { return { t: new Date(p.at), v: p.value }; }) };
      });
      var baselines = baselineSeries(boards.public, history.metric);
      series = series.concat(baselines);
      var note = document.getElementById("history-note");
      if (note && !baselines.length) note.textContent = "Teams only: no organizer baseline has a score on this board.";
      Charts.history(historyBox, series, { label: "Best " + history.metric.label + " of each team over time, baselines as dashed lines",
        yLabel: history.metric.label, precision: history.metric.precision });
    } else if (historyBox) {
      historyBox.textContent = "No scores yet.";
    }
    var board = boards.public;
    var paretoBox = document.getElementById("chart-pareto");
    if (paretoBox && data.pareto) {
      var mx = board.metrics.filter(function (m) { return m.key === data.pareto.privacy; })[0];
      var my = board.metrics.filter(function (m) { return m.key === data.pareto.utility; })[0];
      Charts.pareto(paretoBox, board.rows.map(function (r) {
        var px = r.scores[mx.key], py = r.scores[my.key], ix = interval(px), iy = interval(py);
        return { name: r.team, baseline: r.baseline, x: px ? px.value : null, y: py ? py.value : null,
          xLow: ix[0], xHigh: ix[1], yLow: iy[0], yHigh: iy[1] };
      }), { label: "Privacy (" + mx.label + ") against utility (" + my.label + ") of every defense on the board",
        xLabel: mx.label, yLabel: my.label, xBetter: mx.direction, yBetter: my.direction,
        xRange: mx.key === "arena_privacy" ? [0, 1] : null,
        emptyText: "No defense has both scores yet: privacy is measured once an attack has run against it." });
    }
    var rocBox = document.getElementById("chart-roc");
    if (rocBox) {
      var curves = board.rows.filter(function (r) { return r.roc; }).map(function (r) { return { name: r.team, points: r.roc, baseline: r.baseline }; });
      document.getElementById("roc-panel").hidden = !curves.length;
      if (curves.length) Charts.roc(rocBox, curves, { label: "ROC curves of the attacks on the public split" });
    }
    drawShakeUp();
  }

  /* After the reveal: how far each team moved from its public rank to its private (final) one. */
  function drawShakeUp() {
    var box = document.getElementById("shakeup");
    if (!box) return;
    var pub = boards.public, priv = boards.private;
    if (!priv || !data.privateForAll || !priv.rows.some(function (r) { return !r.baseline; })) { box.hidden = true; return; }
    var publicRank = {};
    pub.rows.forEach(function (r) { if (!r.baseline) publicRank[r.team_id] = r.rank; });
    var body = el("tbody");
    priv.rows.filter(function (r) { return !r.baseline; }).forEach(function (r) {
      var before = publicRank[r.team_id], change = before === undefined ? null : before - r.rank;
      var text = change === null ? "new" : change > 0 ? "↑ " + change : change < 0 ? "↓ " + (-change) : "=";
      var words = change === null ? "not on the public board" : change > 0 ? "up " + change : change < 0 ? "down " + (-change) : "unchanged";
      body.appendChild(el("tr", { "data-team": r.team_id, className: data.myTeam && r.team_id === data.myTeam ? "mine" : "" }, [
        el("td", { className: "num", text: String(r.rank) }),
        el("th", { scope: "row", text: r.team }),
        el("td", { className: "num", text: before === undefined ? "—" : String(before) }),
        el("td", { className: "num change " + (change > 0 ? "up" : change < 0 ? "down" : "same") }, [
          el("span", { "aria-hidden": "true", text: text }), el("span", { className: "visually-hidden", text: words })])
      ]));
    });
    var table = el("table", { className: "shakeup-table" }, [
      el("caption", { className: "visually-hidden", text: "Rank change of each team from the public to the private leaderboard" }),
      el("thead", {}, [el("tr", {}, [el("th", { scope: "col", className: "num", text: "Final rank" }), el("th", { scope: "col", text: "Team" }),
        el("th", { scope: "col", className: "num", text: "Public rank" }), el("th", { scope: "col", className: "num", text: "Change" })])]),
      body]);
    var target = document.getElementById("shakeup-table");
    target.textContent = "";
    target.appendChild(el("div", { className: "table-scroll" }, [table]));
    box.hidden = false;
  }

  drawCharts();
  scrollHints();

  /* ---------------------------------------------------------------- attack × defense matrix (arenas) */
  var matrixBox = document.getElementById("matrix");
  var matrixTimer = null;

  function cellState(cell, precision) {
    return (cell.status || "none") + ":" + Arena.fmt(cell.value, precision);
  }

  function matrixCell(cell, metric, changed) {
    var classes = ["cell"];
    if (cell.level) classes.push("level-" + cell.level);
    if (cell.strongest) classes.push("strongest");
    if (changed) classes.push("flash");
    var parts;
    if (cell.status === "finished" && cell.value !== null) {
      parts = [el("span", { className: "value" }, [el("span", { className: "visually-hidden", text: metric.label + " " }), Arena.fmt(cell.value, metric.precision)]), " ",
        el("span", { className: "success" }, [el("span", { className: "visually-hidden", text: "normalised success " }),
          Math.round(100 * Math.max(0, cell.normalised_success)) + "% " + cell.level])];
      if (cell.strongest) parts.push(" ", el("span", { className: "strongest-mark" }, [
        el("span", { "aria-hidden": "true", text: "★" }), el("span", { className: "visually-hidden", text: "strongest attack on this defense" })]));
    } else if (cell.status === "finished") {
      parts = [el("span", { className: "muted", title: "The metric is undefined for this pair (e.g. a release without record ids has no row to link).", text: "n/a" })];
    } else if (cell.status === "failed") {
      parts = [el("span", { className: "failed", text: "failed" })];
      if (cell.failure_class) parts.push(" ", el("span", { className: "success", text: cell.failure_class }));
    } else {
      parts = [el("span", { className: "muted", text: cell.status || "—" })];
    }
    return el("td", { className: classes.join(" "), "data-defense": cell.defense, "data-state": cellState(cell, metric.precision) }, parts);
  }

  function renderMatrix(m, before) {
    if (!m.defenses.length || !m.rows.length) {
      return el("p", { className: "muted matrix-empty", text: "No attack has met a defense yet: the matrix fills in as defenses finish and attacks pass their check run." });
    }
    var c = m.counts;
    var table = el("table", { className: "matrix", "data-split": m.split }, [
      el("caption", { text: "Success of each attack against each defense, " + m.split + " split: " + c.finished + " of " + c.pairs + " runs finished" +
        (c.pending ? ", " + c.pending + " waiting" : "") + (c.failed ? ", " + c.failed + " failed" : "") + "." })
    ]);
    var head = el("tr", {}, [el("th", { scope: "col" }, ["Attack ", el("span", { "aria-hidden": "true", text: "↓" }), " / defense ", el("span", { "aria-hidden": "true", text: "→" })])]);
    m.defenses.forEach(function (d) {
      var th = el("th", { scope: "col", className: "defense" + (d.baseline ? " baseline" : ""), "data-defense": d.submission }, [
        d.team + " ", el("span", { className: "id", text: "#" + d.submission })]);
      if (d.baseline) th.append(" ", el("span", { className: "badge", text: "baseline" }));
      if (reportVisible(d.baseline, d.team_id, m.split)) th.append(" ", reportLink(d.submission, d.team, m.split));
      head.appendChild(th);
    });
    table.appendChild(el("thead", {}, [head]));
    var body = null, task = null;
    m.rows.forEach(function (row) {
      var metric = row.metric;
      if (row.attack.task !== task) {
        task = row.attack.task;
        body = el("tbody", { "data-task": task }, [el("tr", { className: "task-row" }, [
          el("th", { scope: "rowgroup", colspan: m.defenses.length + 1 }, [task + " ",
            el("span", { className: "muted" }, ["· top number: ", Arena.term(metric.label, (data.matrixExplanations || {})[task + ":" + metric.key] || ""),
              ", " + (metric.direction === "lower" ? "lower" : "higher") + " = stronger attack; below it: normalised success"])])])]);
        table.appendChild(body);
      }
      var classes = [];
      if (row.attack.baseline) classes.push("baseline");
      if (data.myTeam !== null && row.attack.team_id === data.myTeam) classes.push("mine");
      var header = el("th", { scope: "row" }, [row.attack.team + " ", el("span", { className: "id", text: "#" + row.attack.submission })]);
      if (row.attack.baseline) header.append(" ", el("span", { className: "badge", text: "baseline" }));
      var tr = el("tr", { className: classes.join(" "), "data-attack": row.attack.submission }, [header]);
      row.cells.forEach(function (cell) {
        var key = row.attack.submission + ":" + cell.defense;
        var changed = before !== null && before[key] !== cellState(cell, metric.precision);
        tr.appendChild(matrixCell(cell, metric, changed));
      });
      body.appendChild(tr);
    });
    var privacy = el("tr", {}, [el("th", { scope: "row" }, [Arena.term("Arena privacy", (data.matrixExplanations || {})["arena_privacy"] || ""), " ", el("span", { className: "direction", text: "(1 − strongest success, higher = more private)" })])]);
    var utility = m.defenses[0].utility;
    var useful = el("tr", {}, [el("th", { scope: "row" }, [Arena.term(utility.label.charAt(0).toUpperCase() + utility.label.slice(1),
      (data.matrixExplanations || {}).utility || ""), " ",
      el("span", { className: "direction", text: "(utility, " + (utility.direction === "lower" ? "lower" : "higher") + " is better)" })])]);
    m.defenses.forEach(function (d) {
      privacy.appendChild(el("td", { className: "num", "data-defense": d.submission, text: Arena.fmt(d.arena_privacy, 4) }));
      useful.appendChild(el("td", { className: "num", "data-defense": d.submission, text: Arena.fmt(d.utility.value, 4) }));
    });
    table.appendChild(el("tfoot", {}, [privacy, useful]));
    return el("div", { className: "table-scroll", role: "region", "aria-labelledby": "matrix-heading", tabindex: "0" }, [table]);
  }

  var matrixSplit = data.matrixSplit || "public";
  var wantedSplit = data.split || matrixSplit;  // the tab shown; the matrix follows it where that split is readable

  function showMatrix(m) {
    if (m.split !== wantedSplit && m.split !== matrixSplit) return;  // an answer for a tab since left
    var before = null;
    if (m.split === matrixSplit) {  // the same split again: flash what changed
      before = {};
      Array.prototype.forEach.call(matrixBox.querySelectorAll("tr[data-attack] td[data-defense]"), function (td) {
        before[td.parentNode.getAttribute("data-attack") + ":" + td.getAttribute("data-defense")] = td.getAttribute("data-state");
      });
    }
    matrixSplit = m.split;
    document.getElementById("matrix-split").textContent = m.split;
    matrixBox.textContent = "";
    matrixBox.appendChild(renderMatrix(m, before));
  }

  function fetchMatrix(split) {
    fetch(data.matrixUrl + "&split=" + split, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { if (!response.ok) throw new Error("HTTP " + response.status); return response.json(); })
      .then(showMatrix)
      .catch(function () { /* keep the matrix shown; the next change refetches it */ });
  }

  /* The private split may be read once the private board is shown here (revealed, or to organizers). */
  function matrixSplitFor(split) {
    return split === "private" && boards.private ? "private" : "public";
  }

  function followTab(split) {
    wantedSplit = split;
    if (!matrixBox || !data.matrixUrl) return;
    var target = matrixSplitFor(split);
    if (target !== matrixSplit) fetchMatrix(target);
  }

  /* One refetch per burst of board updates (one change pushes a notice per board), spread over
     a second so that many watchers do not all ask at the same instant; every watcher gets the
     same cached matrix for a change. */
  function refreshMatrix() {
    if (!matrixBox || !data.matrixUrl || matrixTimer !== null) return;
    matrixTimer = window.setTimeout(function () {
      matrixTimer = null;
      fetchMatrix(matrixSplitFor(wantedSplit));
    }, 300 + Math.random() * 700);
  }

  /* ---------------------------------------------------------------- live */
  function setState(state) {
    status.classList.toggle("live", state === "live");
    status.textContent = state === "live" ? "Live" : state === "denied" ? "Live updates unavailable" : "Reconnecting…";
  }
  var connected = false;
  Arena.connect("/ws/competitions/" + data.slug + "/leaderboard/", function (message) {
    if (message.type === "snapshot") {
      message.leaderboards.forEach(receive);
      if (connected) refreshMatrix();  // a reconnect may have missed changes
      connected = true;
    }
    if (message.type === "update") {
      receive(message.leaderboard);
      if (message.leaderboard.phase === data.phase) refreshMatrix();
    }
  }, setState);
})();
