// The console's own script (served from /static, no inline script anywhere: the CSP forbids it).
// Charts: an element with data-chart holds its series as JSON in data-series; uPlot draws it.
(function () {
  "use strict";

  function drawCharts(root) {
    if (typeof uPlot === "undefined") return;
    root.querySelectorAll("[data-chart]:not([data-drawn])").forEach(function (el) {
      var spec = JSON.parse(el.getAttribute("data-series"));
      var width = Math.max(280, el.clientWidth || 320);
      var series = [{ label: "时间" }].concat(spec.series.map(function (s) {
        return { label: s.label, stroke: s.color || "#0b5cab", width: 2 };
      }));
      var opts = {
        width: width, height: 220, series: series,
        axes: [{}, { label: spec.unit || "" }],
        scales: { x: { time: spec.time !== false } },
        // 24-hour clock and year-month-day dates, as people here read them.
        fmtDate: function (tpl) {
          return uPlot.fmtDate(tpl.replace("{h}", "{HH}").replace("{aa}", "")
            .replace("{M}/{D}/{YY}", "{YYYY}-{MM}-{DD}").replace("{M}/{D}", "{MM}-{DD}"));
        },
      };
      if (spec.limit !== undefined && spec.limit !== null) {
        opts.series.push({ label: spec.limitLabel || "限值", stroke: "#c62828", dash: [6, 4], width: 1 });
        spec.data.push(spec.data[0].map(function () { return spec.limit; }));
      }
      el.setAttribute("data-drawn", "1");
      new uPlot(opts, spec.data, el);
    });
  }

  // A risk board subscribes to server-sent events and asks htmx to refresh its list.
  function watch(root) {
    root.querySelectorAll("[data-live]:not([data-watching])").forEach(function (el) {
      el.setAttribute("data-watching", "1");
      var source = new EventSource(el.getAttribute("data-live"));
      // The server says when it is listening: from then on nothing is missed (tests wait on it).
      source.addEventListener("ready", function () { el.setAttribute("data-live-ready", "1"); });
      source.addEventListener("risk", function () {
        if (window.htmx) window.htmx.trigger(el, "live");
      });
    });
  }

  // Copy buttons (a tracking code, a terminal key) without inline handlers.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var text = document.getElementById(button.getAttribute("data-copy")).textContent.trim();
    if (navigator.clipboard) navigator.clipboard.writeText(text);
    button.textContent = "已复制";
  });

  function ready(root) { drawCharts(root); watch(root); }
  document.addEventListener("DOMContentLoaded", function () { ready(document); });
  document.addEventListener("htmx:afterSwap", function (e) { ready(e.target); });
})();
