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
      var body = el("tbody");
      keys.forEach(function (k) { body.appendChild(el("tr", {}, [el("th", { scope: "row", text: k }), el("td", { className: "num", text: Arena.fmt(scores[k].value, 4) })])); });
      box.appendChild(el("table", { id: "public-scores" }, [el("caption", { text: "Public scores" }), body]));
    };
    xhr.send();
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
        follow(body);
        return;
      }
      var title = body.error || ("The upload failed (HTTP " + xhr.status + ").");
      var detail = HINTS[xhr.status] || "";
      if (xhr.status === 429 && body.detail && body.detail.next_allowed) detail += " Next submission allowed at " + body.detail.next_allowed + ".";
      showError(title, detail);
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
