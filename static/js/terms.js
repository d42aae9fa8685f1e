/* Explained terms: a label with class "term-label" shows its tooltip (the element its
   aria-describedby names) on hover and on keyboard focus; Escape hides it. The tip is placed
   with fixed coordinates so that a scrolling table cannot clip it. Works for terms that scripts
   add later (event delegation). Arena.term builds the same markup as the template tag. */
(function () {
  "use strict";
  var shown = null, shownLabel = null, home = null, counter = 0;

  function tipOf(label) {
    var id = label && label.getAttribute("aria-describedby");
    return id ? document.getElementById(id) : null;
  }

  /* A shown tip moves to the end of the body, out of any sticky table cell whose stacking order
     would let neighbouring cells paint over it; it goes back beside its label when hidden. */
  function hide() {
    if (!shown) return;
    shown.classList.remove("open");
    if (home && home.isConnected) home.appendChild(shown); else shown.remove();
    shown = null; shownLabel = null; home = null;
  }

  function show(label) {
    var tip = tipOf(label);
    if (!tip || tip === shown) return;
    hide();
    home = tip.parentNode;
    document.body.appendChild(tip);
    tip.classList.add("open");
    shown = tip;
    shownLabel = label;
    place(label, tip);
  }

  /* Under the label (above it near the bottom of the window), inside the window. */
  function place(label, tip) {
    var rect = label.getBoundingClientRect(), width = Math.min(320, window.innerWidth - 16);
    tip.style.width = width + "px";
    var left = Math.max(8, Math.min(rect.left, window.innerWidth - width - 8));
    var top = rect.bottom + 6;
    if (top + tip.offsetHeight > window.innerHeight - 8) top = Math.max(8, rect.top - tip.offsetHeight - 6);
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }

  function label(event) {
    return event.target && event.target.closest ? event.target.closest(".term-label") : null;
  }

  document.addEventListener("mouseover", function (event) {
    var l = label(event);
    if (l) show(l);
    else if (shown && !(event.target.closest && event.target.closest(".tip"))) hide();
  });
  document.addEventListener("focusin", function (event) { var l = label(event); if (l) show(l); else hide(); });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") hide(); });
  // Scrolling (the page, or a table scrolling to a focused label) moves the tip with its label.
  window.addEventListener("scroll", function () { if (shown) place(shownLabel, shown); }, true);
  window.addEventListener("resize", function () { if (shown) place(shownLabel, shown); });

  window.Arena = window.Arena || {};
  /* A label that explains itself; text "" gives the plain label. */
  window.Arena.term = function (labelText, text, slug) {
    var outer = document.createElement("span");
    if (!text) { outer.textContent = labelText; return outer; }
    counter += 1;
    var id = "tipjs-" + counter;
    outer.className = "term";
    var l = document.createElement("span");
    l.className = "term-label"; l.tabIndex = 0; l.setAttribute("aria-describedby", id); l.textContent = labelText;
    var tip = document.createElement("span");
    tip.className = "tip"; tip.id = id; tip.setAttribute("role", "tooltip"); tip.textContent = text;
    if (slug) {
      var link = document.createElement("a");
      link.href = "/glossary/#" + slug; link.textContent = "Glossary";
      tip.appendChild(document.createTextNode(" ")); tip.appendChild(link);
    }
    outer.appendChild(l); outer.appendChild(tip);
    return outer;
  };
})();
