/* Home page: watch every published competition's leaderboards and list new scores as they come. */
(function () {
  "use strict";
  var list = document.getElementById("activity");
  if (!list || !list.dataset.slugs) return;
  var dot = document.getElementById("activity-status");
  var el = Arena.el;
  var seen = {};  /* board key -> {submission id -> scores json} */

  function key(board) { return board.competition + "|" + board.phase + "|" + board.split + "|" + board.task; }

  function remember(board) {
    var rows = {};
    board.rows.forEach(function (r) { rows[r.submission] = JSON.stringify(r.scores); });
    seen[key(board)] = rows;
  }

  function add(board, row) {
    var primary = board.metrics.filter(function (m) { return m.primary; })[0] || board.metrics[0];
    var score = primary && row.scores[primary.key] ? row.scores[primary.key].value : null;
    var empty = list.querySelector("li.empty");
    if (empty) empty.remove();
    var now = new Date();
    var item = el("li", { className: "new" }, [
      el("time", { datetime: now.toISOString(), text: now.toISOString().slice(11, 16) + " UTC" }),
      el("strong", { text: row.team }), row.baseline ? " (baseline)" : "",
      board.split === "private" ? " on the revealed private board:" : "",
      " scored ", el("strong", { text: Arena.fmt(score, primary ? primary.precision : 4) }),
      " " + (primary ? primary.label : "") + (row.rank ? " (rank " + row.rank + ")" : "") + " in ",
      el("a", { href: "/competitions/" + board.competition + "/leaderboard/", text: board.competition })
    ]);
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 20) list.removeChild(list.lastChild);
  }

  function receive(board, initial) {
    var before = seen[key(board)];
    if (!initial && before) {
      board.rows.forEach(function (row) {
        if (before[row.submission] !== JSON.stringify(row.scores)) add(board, row);
      });
    }
    remember(board);
  }

  var live = 0, slugs = list.dataset.slugs.split(",");
  slugs.forEach(function (slug) {
    Arena.connect("/ws/competitions/" + slug + "/leaderboard/", function (message) {
      if (message.type === "snapshot") message.leaderboards.forEach(function (b) { receive(b, !seen[key(b)]); });
      if (message.type === "update") receive(message.leaderboard, false);
    }, function (state) {
      live += state === "live" ? 1 : -1;
      live = Math.max(live, 0);
      dot.classList.toggle("live", live > 0);
      dot.title = live > 0 ? "live" : "reconnecting";
    });
  });
})();
