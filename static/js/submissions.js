/* My submissions and submission pages: live status of unfinished submissions, the team's score chart. */
(function () {
  "use strict";
  var TERMINAL = ["finished", "failed", "cancelled"];
  var nodes = Array.prototype.slice.call(document.querySelectorAll("[data-status-for]"));
  var watched = {};
  nodes.forEach(function (node) {
    var id = node.getAttribute("data-status-for");
    if (TERMINAL.indexOf(node.textContent.trim()) >= 0 || watched[id]) return;
    watched[id] = Arena.connect("/ws/submissions/" + id + "/", function (message) {
      if (message.type !== "status") return;
      var s = message.submission;
      document.querySelectorAll('[data-status-for="' + id + '"]').forEach(function (n) {
        n.textContent = s.status;
        n.className = "status status-" + s.status;
      });
      if (TERMINAL.indexOf(s.status) >= 0) {
        watched[id].close();
        window.setTimeout(function () { window.location.reload(); }, 400);  /* scores and logs are rendered by the server */
      }
    });
  });

  var history = Arena.readJson("team-history");
  var box = document.getElementById("chart-team-history");
  if (box && history && history.length && window.Charts) {
    var series = [{ name: "public", points: history.filter(function (p) { return p.public !== undefined && p.public !== null; }).map(function (p) { return { t: new Date(p.at), v: p.public }; }) }];
    var priv = history.filter(function (p) { return p.private !== undefined && p.private !== null; });
    if (priv.length) series.push({ name: "private", points: priv.map(function (p) { return { t: new Date(p.at), v: p.private }; }) });
    Charts.history(box, series, { label: "Primary score of each of your submissions over time", yLabel: "score", precision: 4 });
  }
})();
