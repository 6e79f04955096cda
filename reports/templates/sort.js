// Sorting is a convenience: every table is complete and readable without it.
(function () {
  function key(cell, num) {
    var t = cell ? cell.textContent.trim() : "";
    if (!num) { return t; }
    var f = parseFloat(t.replace(/[^0-9.eE+-]/g, ""));
    return isNaN(f) ? -Infinity : f;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var body = table.tBodies[0];
    if (!body) { return; }
    table.querySelectorAll("thead th[data-sort]").forEach(function (th) {
      th.addEventListener("click", function () {
        var col = th.cellIndex, num = th.getAttribute("data-sort") === "num";
        var dir = th.getAttribute("data-dir") === "asc" ? -1 : 1;
        table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("data-dir"); });
        th.setAttribute("data-dir", dir === 1 ? "asc" : "desc");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col], num), y = key(b.cells[col], num);
          if (num) { return dir * (x - y); }
          return dir * x.localeCompare(y, undefined, {numeric: true});
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
