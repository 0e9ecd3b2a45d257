// nectar status page: keeps the page current without reloading it.
//
// The server sends one "status" event per reconcile pass. The page then
// fetches itself again and swaps in the parts marked data-live that
// changed, so every bit of HTML comes from the server's templates. Without
// JavaScript the page still works: reload it to refresh.
(function () {
  "use strict";

  var liveParts = document.querySelectorAll("[data-live]");
  if (!liveParts.length || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var indicator = document.getElementById("live");
  var snapshot = document.body.getAttribute("data-snapshot");
  var busy = false;
  var again = false;

  function show(state, text) {
    if (indicator) {
      indicator.setAttribute("data-state", state);
      indicator.textContent = text;
    }
  }

  // syncRows updates a table body row by row (rows are matched by id), so
  // a row that did not change is left alone.
  function syncRows(body, next) {
    var wanted = {};
    Array.prototype.forEach.call(next.children, function (row) { wanted[row.id] = true; });
    Array.prototype.slice.call(body.children).forEach(function (row) {
      if (!wanted[row.id]) { row.remove(); }
    });
    Array.prototype.forEach.call(next.children, function (row, i) {
      var current = document.getElementById(row.id);
      var node = current;
      if (!current || current.parentNode !== body || current.outerHTML !== row.outerHTML) {
        node = document.importNode(row, true);
        if (current && current.parentNode === body) { current.replaceWith(node); }
      }
      if (body.children[i] !== node) { body.insertBefore(node, body.children[i] || null); }
    });
  }

  function sync(current, next) {
    if (current.getAttribute("data-live") === "rows") {
      syncRows(current, next);
    } else if (current.outerHTML !== next.outerHTML) {
      current.replaceWith(document.importNode(next, true));
    }
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (part) {
          var next = doc.getElementById(part.id);
          if (next) { sync(part, next); }
        });
        document.title = doc.title;
        snapshot = doc.body.getAttribute("data-snapshot");
        show("on", "live");
      })
      .catch(function () { show("off", "update failed; reload to refresh"); })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  // The query string carries ?token= when the page was opened with one.
  var events = new EventSource("/events" + location.search);
  events.addEventListener("status", function (e) {
    var version;
    try { version = String(JSON.parse(e.data).version); } catch (err) { version = ""; }
    if (version !== snapshot) { refresh(); }
  });
  events.onopen = function () { show("on", "live"); };
  events.onerror = function () { show("off", "reconnecting…"); };
})();
