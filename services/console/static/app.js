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

  // A form survives a weak network (docs/console.md): what was typed is kept in this tab's session
  // storage as it is sent. The next page tells whether it arrived: any page the server answered
  // the form with (a refusal with its errors, or the page a change redirected to: another path,
  // or ?done=) clears it; the form's own page shown again without an answer (the request failed:
  // the person went back or opened it anew) gets what was typed back and says so. Never kept:
  // files, passwords, the CSRF token, and a person's name or phone.
  var DRAFT = "sentinel.draft";
  var SKIPPED = /^(csrf|name|phone|password)$/;

  function kept(el) {
    return el.name && !SKIPPED.test(el.name) && el.type !== "file" && el.type !== "hidden" &&
      el.type !== "password" && el.type !== "submit";
  }

  function saveDraft(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post" ||
        form.hasAttribute("data-no-draft")) return;
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) return;
      if (el.type === "checkbox" || el.type === "radio") {
        fields.push([el.name, el.value, el.checked]);
      } else {
        fields.push([el.name, el.value, null]);
      }
    });
    try {
      sessionStorage.setItem(DRAFT, JSON.stringify({
        from: location.pathname, action: form.getAttribute("action") || "", fields: fields,
      }));
    } catch (e) { /* storage full or off: the form is sent all the same */ }
  }

  function untouched(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.checked === el.defaultChecked;
    if (el.tagName === "SELECT") {
      // With no option marked selected, the first one shows, though none is defaultSelected.
      var initial = Array.prototype.findIndex.call(el.options, function (o) {
        return o.defaultSelected;
      });
      return el.selectedIndex === Math.max(initial, 0);
    }
    return el.value === el.defaultValue;
  }

  function restoreDraft() {
    var raw = null;
    try { raw = sessionStorage.getItem(DRAFT); sessionStorage.removeItem(DRAFT); } catch (e) { return; }
    if (!raw) return;
    var draft = JSON.parse(raw);
    // The server answered when it says something: many forms keep an empty error slot
    // (role=alert) beside each field, which is no answer.
    var answered = /[?&]done=/.test(location.search) ||
      Array.prototype.some.call(document.querySelectorAll("[role=alert]"), function (el) {
        return el.textContent.trim() !== "";
      });
    if (draft.from !== location.pathname || answered) return;
    var form = Array.prototype.find.call(document.forms, function (f) {
      return (f.getAttribute("action") || "") === draft.action;
    });
    if (!form) return;
    var restored = false;
    draft.fields.forEach(function (field) {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name !== field[0] || !kept(el) || !untouched(el)) return;
        if (el.type === "checkbox" || el.type === "radio") {
          if (el.value === field[1] && el.checked !== field[2]) { el.checked = field[2]; restored = true; }
        } else if (el.value !== field[1]) {
          el.value = field[1];
          restored = true;
        }
      });
    });
    if (!restored) return;
    var note = document.createElement("p");
    note.className = "notice";
    note.setAttribute("role", "status");
    note.setAttribute("data-draft-restored", "");
    note.textContent = "上次提交没有送达，已恢复您填写的内容，请检查后重新提交。";
    form.insertBefore(note, form.firstChild);
    // A form folded away (移送, 登记市场, 标注位置) is unfolded: what was typed is in view.
    var box = form.closest("details");
    if (box) box.open = true;
  }

  document.addEventListener("submit", saveDraft);

  // On a phone the menu is one row that scrolls sideways (app.css): the page's own entry is
  // brought to its middle. The menu alone scrolls, never the page.
  function showCurrentEntry() {
    var menu = document.querySelector(".nav.sideways");
    var current = menu && menu.querySelector('[aria-current="page"]');
    if (!current || menu.scrollWidth <= menu.clientWidth) return;
    menu.scrollLeft = current.offsetLeft - (menu.clientWidth - current.offsetWidth) / 2;
  }

  // 使用当前位置 (a clerk at the market's gate fills in its location) and 附近的市场 (a citizen's
  // nearest markets): the phone's location, asked for only when the button is pressed; the
  // buttons show only where the browser can tell it.
  function offerLocation() {
    if (!("geolocation" in navigator)) return;
    document.querySelectorAll("[data-locate-form], [data-near-form]").forEach(function (el) {
      el.classList.remove("hidden");
    });
  }

  function locate(status, then) {
    status.textContent = "正在获取位置…";
    navigator.geolocation.getCurrentPosition(function (position) {
      status.textContent = "";
      then(position.coords.latitude, position.coords.longitude);
    }, function (error) {
      status.textContent = error.code === 1
        ? "未获准使用位置信息，请在浏览器设置中允许本网站使用位置。"
        : "暂时无法获取当前位置，请稍后再试。";
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  document.addEventListener("click", function (event) {
    var fill = event.target.closest("[data-locate]");
    if (fill) {
      var form = document.querySelector(fill.getAttribute("data-locate"));
      locate(fill.parentElement.querySelector("[data-locate-status]"), function (lat, lon) {
        form.elements.latitude.value = lat.toFixed(6);
        form.elements.longitude.value = lon.toFixed(6);
      });
      return;
    }
    var near = event.target.closest("[data-near]");
    if (!near) return;
    event.preventDefault();
    locate(near.parentElement.querySelector("[data-near-status]"), function (lat, lon) {
      // Three decimals (about 100 m): enough to order the markets, and no more of where the
      // person stands than that.
      location.href = near.getAttribute("data-near") + "?near=" + lat.toFixed(3) + "," + lon.toFixed(3);
    });
  });

  function ready(root) { drawCharts(root); watch(root); }
  document.addEventListener("DOMContentLoaded", function () {
    showCurrentEntry();
    offerLocation();
    restoreDraft();
    ready(document);
  });
  document.addEventListener("htmx:afterSwap", function (e) { ready(e.target); });
})();
