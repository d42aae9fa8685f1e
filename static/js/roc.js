/* A page's ROC curves from its json_script "roc-data" into #chart-roc (report and submission pages). */
(function () {
  "use strict";
  var box = document.getElementById("chart-roc");
  var curves = window.Arena && Arena.readJson("roc-data");
  if (!box || !curves || !curves.length) return;
  Charts.roc(box, curves, { label: box.getAttribute("data-label") || "ROC curves of the attacks, log-scaled axes" });
})();
