/* Submit page: upload with a progress bar (XHR to the REST API, the session authenticates it),
   then follow the submission's status live over its websocket. */
(function () {
  "use strict";
  var form = document.getElementById("submit-form");
  if (!form) return;
  var el = Arena.el;
  var progressBox = document.getElementById("upload-progress");
  var bar = document.getElementById("progress-bar");
  var progressText = document.getElementById("progress-text");
  var errorBox = document.getElementById("submit-error");
  var button = document.getElementById("submit-button");
  var statusBox = document.getElementById("status-box");
  var statusText = document.getElementById("status-text");
  var statusError = document.getElementById("status-error");
  var socket = null;

  function showError(title, detail) {
    errorBox.textContent = "";
    errorBox.appendChild(el("p", {}, [el("strong", { text: title })]));
    if (detail) errorBox.appendChild(el("p", { text: detail }));
    errorBox.hidden = false;
    errorBox.focus && errorBox.setAttribute("tabindex", "-1");
  }

  var HINTS = {
    400: "The file was checked and refused; nothing was stored. Fix it and submit again.",
    401: "Your session has ended: log in again.",
    403: "You cannot submit here (are you in a team of this competition?).",
    404: "This competition or phase does not exist.",
    409: "The phase is not open for submissions.",
    413: "The file is too large.",
    429: "Your team has used its submissions for now; this one does not count."
  };

  function steps(state) {
    var order = ["queued", "running", "scoring", "finished"];
    var at = order.indexOf(state);
    Array.prototype.forEach.call(statusBox.querySelectorAll(".steps li"), function (li) {
      var i = order.indexOf(li.dataset.step);
      li.className = state === "finished" || (at >= 0 && i < at) ? "done" : i === at ? "current" : "";
    });
  }

  function showScores(id) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", "/api/v1/submissions/" + id + "/");
    xhr.responseType = "json";
    xhr.onload = function () {
      if (xhr.status !== 200 || !xhr.response) return;
      var box = document.getElementById("status-scores");
      box.textContent = "";
      var scores = xhr.response.public_scores || {};
      var keys = Object.keys(scores);
      if (!keys.length) return;
      /* The competition's metrics for this task: label, precision, primary first; keys it does not list come last. */
      var meta = (Arena.readJson("metric-meta") || []).filter(function (m) { return m.task === xhr.response.task; });
      var known = meta.filter(function (m) { return m.key in scores; });
      var rest = keys.filter(function (k) { return !meta.some(function (m) { return m.key === k; }); }).sort()
        .map(function (k) { return { key: k, label: k.replace(/_/g, " "), precision: 4, primary: false }; });
      var body = el("tbody");
      known.concat(rest).forEach(function (m) {
        var label = el("th", { scope: "row" }, [m.label]);
        if (m.primary) label.append(" ", el("span", { className: "badge", text: "primary" }));
        var score = scores[m.key] || {};
        var cell = el("td", { className: "num", text: Arena.fmt(score.value, m.precision) });
        if (score.ci_low !== null && score.ci_low !== undefined && score.ci_high !== null && score.ci_high !== undefined) {
          cell.appendChild(el("span", { className: "ci", text: "[" + Arena.fmt(score.ci_low, m.precision) + ", " + Arena.fmt(score.ci_high, m.precision) + "]" }));
        }
        body.appendChild(el("tr", { "data-metric": m.key }, [label, cell]));
      });
      box.appendChild(el("table", { id: "public-scores" }, [el("caption", { text: "Public scores" }), body]));
    };
    xhr.send();
  }

  /* The quota box as the server now counts it (a failure the platform caused does not count). */
  function refreshQuota() {
    var box = document.getElementById("quota-box");
    if (!box || !window.fetch) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("quota-box");
        if (fresh) box.innerHTML = fresh.innerHTML;
      })
      .catch(function () { /* the box keeps its last state */ });
  }

  function follow(submission) {
    statusBox.hidden = false;
    document.getElementById("status-id").textContent = "#" + submission.id;
    document.getElementById("status-link").href = "/submissions/" + submission.id + "/";
    function update(s) {
      statusText.textContent = s.status;
      statusText.className = "status status-" + s.status;
      steps(s.status);
      if (s.status === "failed" || s.status === "cancelled") {
        statusError.textContent = (s.failure_class ? s.failure_class + ": " : "") + (s.error || "The submission did not finish.");
        statusError.hidden = false;
        steps("none");
      }
      if (s.status === "finished") showScores(s.id);
      if (["finished", "failed", "cancelled"].indexOf(s.status) >= 0) refreshQuota();
      if (["finished", "failed", "cancelled"].indexOf(s.status) >= 0 && socket) socket.close();
    }
    update(submission);
    socket = Arena.connect("/ws/submissions/" + submission.id + "/", function (message) {
      if (message.type === "status") update(message.submission);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.hidden = true;
    var file = form.querySelector("input[type=file]").files[0];
    if (!file) { showError("Choose a file to submit."); return; }
    var max = parseInt(form.dataset.maxBytes, 10);
    if (max && file.size > max) { showError("The file is too large.", file.name + " is " + file.size.toLocaleString() + " bytes; the limit is " + max.toLocaleString() + " bytes."); return; }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRFToken", Arena.csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    progressBox.hidden = false;
    bar.value = 0;
    button.disabled = true;
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round(e.loaded / e.total * 100);
      bar.value = pct;
      bar.textContent = pct + "%";
      progressText.textContent = pct + "% of " + (e.total / 1024).toFixed(0) + " KB";
    };
    xhr.onload = function () {
      button.disabled = false;
      bar.value = 100;
      var body = xhr.response || {};
      if (xhr.status === 201) {
        progressText.textContent = "Uploaded.";
        form.reset();
        refreshQuota();
        follow(body);
        return;
      }
      var title = body.error || ("The upload failed (HTTP " + xhr.status + ").");
      var detail = HINTS[xhr.status] || "";  // the error already names the next allowed time: say it once
      showError(title, detail);
      if (xhr.status === 429) refreshQuota();
      progressBox.hidden = true;
    };
    xhr.onerror = function () {
      button.disabled = false;
      progressBox.hidden = true;
      showError("The connection was lost during the upload.", "Nothing was submitted; try again.");
    };
    xhr.send(new FormData(form));
  });
})();
