/* Shared helpers for the live pages: websockets that reconnect, DOM building, number formatting. */
(function () {
  "use strict";

  function wsUrl(path) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + path;
  }

  /* Open a websocket to `path`; reconnect with backoff; call onMessage(json) and onState("live"|"offline"). */
  function connect(path, onMessage, onState) {
    var delay = 500, socket = null, closed = false;
    function open() {
      socket = new WebSocket(wsUrl(path));
      socket.onopen = function () { delay = 500; if (onState) onState("live"); };
      socket.onmessage = function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        onMessage(data);
      };
      socket.onclose = function (event) {
        if (onState) onState(event.code === 4404 ? "denied" : "offline");
        if (closed || event.code === 4404) return;
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      };
    }
    open();
    return { close: function () { closed = true; if (socket) socket.close(); } };
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function fmt(value, precision) {
    if (value === null || value === undefined) return "—";
    return Number(value).toFixed(precision === undefined ? 4 : precision);
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  window.Arena = { connect: connect, el: el, fmt: fmt, csrfToken: csrfToken, readJson: readJson };
})();
