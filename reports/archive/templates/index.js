// Draws the archive index from the page's JSON data block: verdict filter,
// search, paging, sorting and the two charts. Text from builds only ever
// goes into textContent or attribute values, never into markup.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var C = {};
  D.columns.forEach(function (c, i) { C[c] = i; });
  var builds = D.builds, lists = D.lists;
  var PAGE = 100, page = 0, sortCol = null, sortDir = 1, shown = builds;
  var SVGNS = "http://www.w3.org/2000/svg";
  var verdictColour = {"tom-skype-chinese": "#c0392b", "tom-skype-english": "#ec7063", "regular-skype": "#27ae60",
    "post-tom-joint-venture": "#e67e22", "unrelated": "#7f8c8d", "undetermined": "#b3b6b7", "": "#d5d8dc"};
  var palette = ["#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#bcbd22"];

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function verdictClass(v) {
    if (v.indexOf("tom-skype") === 0) { return "tom"; }
    if (v === "regular-skype") { return "regular"; }
    if (v === "post-tom-joint-venture") { return "jv"; }
    return "none";
  }
  function href(b) { return "builds/" + encodeURIComponent(b[C.key]) + "/" + encodeURIComponent(b[C.page]); }
  function hasHan(s) { return /[\u3400-\u9fff\uf900-\ufaff]/.test(s); }
  function cmpVersion(a, b) {
    if (a === b) { return 0; }
    if (!a) { return 1; }
    if (!b) { return -1; }
    var pa = a.split(/[., -]+/), pb = b.split(/[., -]+/);
    for (var i = 0; i < pa.length && i < pb.length; i++) {
      var na = /^\d+$/.test(pa[i]), nb = /^\d+$/.test(pb[i]);
      if (na && nb) { var d = parseInt(pa[i], 10) - parseInt(pb[i], 10); if (d) { return d; } }
      else if (na) { return -1; } else if (nb) { return 1; }
      else if (pa[i] !== pb[i]) { return pa[i] < pb[i] ? -1 : 1; }
    }
    return pa.length - pb.length || (a < b ? -1 : 1);
  }

  // dates: the product executable's link time, or the closest snapshot's
  // date; the page starts with link times unless they say nothing (fewer
  // than 3 distinct among TOM builds, as with synthetic builds)
  var basisSel = document.getElementById("x-date");
  var peDates = {};
  builds.forEach(function (b) { if (b[C.verdict].indexOf("tom-skype") === 0 && b[C.pe_date]) { peDates[b[C.pe_date]] = 1; } });
  basisSel.value = Object.keys(peDates).length >= 3 ? "pe" : "snapshot";
  function dateOf(b) {
    var d = basisSel.value === "pe" ? b[C.pe_date] : b[C.snapshot_date];
    return /^\d{4}-\d{2}-\d{2}$/.test(d) ? d : "";
  }
  function basisWords() { return basisSel.value === "pe" ? "the product executable's link time" : "the closest keyword-list snapshot's date"; }

  // filters
  var fText = document.getElementById("f-text"), fVerdict = document.getElementById("f-verdict"),
    fFamily = document.getElementById("f-family"), fHost = document.getElementById("f-host"),
    fKeyword = document.getElementById("f-keyword");
  var verdicts = {}, families = {}, hosts = {};
  builds.forEach(function (b) {
    verdicts[b[C.verdict]] = 1;
    if (b[C.family]) { families[b[C.family]] = 1; }
    b[C.hosts].forEach(function (h) { hosts[h] = 1; });
  });
  Object.keys(verdicts).sort().forEach(function (v) { fVerdict.appendChild(el("option", {value: v}, v || "no verdict")); });
  Object.keys(families).sort(cmpVersion).forEach(function (f) { fFamily.appendChild(el("option", {value: f}, f)); });
  var dl = document.getElementById("hosts");
  Object.keys(hosts).sort().slice(0, 2000).forEach(function (h) { dl.appendChild(el("option", {value: h})); });
  var listText = lists.map(function (l) { return "\n" + l.join("\n").toLowerCase() + "\n"; });
  if (D.keywords_omitted) {
    fKeyword.placeholder = "some lists not embedded: use tomscan query --keyword";
  }

  function filter() {
    var t = fText.value.trim().toLowerCase(), v = fVerdict.value, f = fFamily.value,
      h = fHost.value.trim().toLowerCase(), k = fKeyword.value.trim().toLowerCase();
    var hit = null;
    if (k) {
      hit = {};
      listText.forEach(function (s, i) { if (s.indexOf(k) >= 0) { hit[i] = 1; } });
    }
    shown = builds.filter(function (b) {
      if (fVerdict.selectedIndex > 0 && b[C.verdict] !== v) { return false; }
      if (f && b[C.family] !== f) { return false; }
      if (t && (b[C.path] + " " + b[C.version] + " " + b[C.key] + " " + b[C.signer]).toLowerCase().indexOf(t) < 0) { return false; }
      if (h && !b[C.hosts].some(function (x) { return x.toLowerCase().indexOf(h) >= 0; })) { return false; }
      if (hit && !b[C.lists].some(function (l) { return hit[l[2]]; })) { return false; }
      return true;
    });
    sortShown();
    page = 0;
    draw();
  }

  // table
  var ths = document.querySelectorAll("#builds thead th");
  var sortKeys = [C.version, C.path, C.verdict, C.confidence, -1, C.endpoints, C.hosts, C.keywords, C.lists, C.signer, C.status];
  function sortShown() {
    if (sortCol === null) { return; }
    var i = sortKeys[sortCol], kind = ths[sortCol].getAttribute("data-sort");
    shown = shown.slice().sort(function (a, b) {
      var x = i < 0 ? dateOf(a) : a[i], y = i < 0 ? dateOf(b) : b[i];
      if (kind === "version") { return sortDir * cmpVersion(x, y); }
      if (kind === "num") { return sortDir * (x - y); }
      return sortDir * String(x).localeCompare(String(y), undefined, {numeric: true});
    });
  }
  ths.forEach(function (th, col) {
    th.addEventListener("click", function () {
      sortDir = sortCol === col ? -sortDir : 1;
      sortCol = col;
      ths.forEach(function (h) { h.removeAttribute("data-dir"); });
      th.setAttribute("data-dir", sortDir === 1 ? "asc" : "desc");
      sortShown();
      page = 0;
      draw();
    });
  });
  var body = document.querySelector("#builds tbody"), info = document.getElementById("shown");
  function row(b) {
    var tr = el("tr", {"class": "verdict-" + verdictClass(b[C.verdict])});
    tr.appendChild(el("td", {"class": "nowrap"}, b[C.version] || "unknown"));
    var td = el("td");
    var base = b[C.path].split("/").pop() || b[C.path];
    var a = el("a", {href: href(b), title: b[C.path]}, base);
    if (hasHan(base)) { a.setAttribute("lang", "zh"); }
    td.appendChild(a);
    td.appendChild(el("br"));
    td.appendChild(el("small", {"class": "mono"}, b[C.key].slice(0, 16)));
    tr.appendChild(td);
    td = el("td");
    td.appendChild(el("span", {"class": "badge " + verdictClass(b[C.verdict])}, b[C.verdict] || "no verdict"));
    tr.appendChild(td);
    tr.appendChild(el("td", {"class": "num"}, b[C.confidence].toFixed(2)));
    td = el("td", {"class": "nowrap", title: basisWords()}, dateOf(b) || "-");
    tr.appendChild(td);
    tr.appendChild(el("td", {"class": "num"}, String(b[C.endpoints])));
    var hs = b[C.hosts];
    td = el("td", {"class": "mono hosts"});
    hs.slice(0, 3).forEach(function (h) { td.appendChild(el("div", {}, h)); });
    if (hs.length > 3) { td.appendChild(el("small", {}, "+" + (hs.length - 3) + " more")); td.title = hs.join(" "); }
    tr.appendChild(td);
    tr.appendChild(el("td", {"class": "num"}, String(b[C.keywords])));
    td = el("td", {"class": "hosts"});
    b[C.lists].forEach(function (l) { td.appendChild(el("div", {}, l[0] + " " + l[1])); });
    tr.appendChild(td);
    var cn = /(?:^|\/)CN=([^\/]+)/.exec(b[C.signer]);
    td = el("td", {title: b[C.signer]}, cn ? cn[1] : b[C.signer]);
    if (hasHan(b[C.signer])) { td.setAttribute("lang", "zh"); }
    tr.appendChild(td);
    tr.appendChild(el("td", {"class": "nowrap status-" + b[C.status]}, b[C.status]));
    return tr;
  }
  function draw() {
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    page = Math.min(page, pages - 1);
    var frag = document.createDocumentFragment();
    shown.slice(page * PAGE, page * PAGE + PAGE).forEach(function (b) { frag.appendChild(row(b)); });
    body.textContent = "";
    body.appendChild(frag);
    info.textContent = shown.length + " of " + builds.length + " builds" +
      (shown.length > PAGE ? ", page " + (page + 1) + " of " + pages : "");
    document.getElementById("prev").disabled = page === 0;
    document.getElementById("next").disabled = page >= pages - 1;
  }
  document.getElementById("prev").addEventListener("click", function () { page--; draw(); });
  document.getElementById("next").addEventListener("click", function () { page++; draw(); });
  var timer = null;
  function later() { clearTimeout(timer); timer = setTimeout(filter, 120); }
  [fText, fHost, fKeyword].forEach(function (i) { i.addEventListener("input", later); });
  [fVerdict, fFamily].forEach(function (i) { i.addEventListener("change", filter); });
  document.getElementById("filters").addEventListener("reset", function () { setTimeout(filter, 0); });
  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); filter(); });
  document.querySelectorAll("#counts [data-verdict]").forEach(function (b) {
    b.style.cursor = "pointer";
    b.addEventListener("click", function () {
      var v = b.getAttribute("data-verdict");
      fVerdict.value = v === "no verdict" ? "" : v;
      if (v === "no verdict") { fVerdict.selectedIndex = Array.prototype.findIndex.call(fVerdict.options, function (o, i) { return i > 0 && o.value === ""; }); }
      filter();
    });
  });

  // charts
  function day(s) { return Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10)); }
  function niceMax(n) {
    if (n <= 4) { return 4; }
    var step = n / 4, mag = Math.pow(10, Math.floor(Math.log10(step)));
    var ms = [1, 2, 5, 10];
    for (var i = 0; i < ms.length; i++) { if (ms[i] * mag >= step) { return ms[i] * mag * 4; } }
    return 40 * mag;
  }
  function legend(id, items) {
    var l = document.getElementById(id);
    items.forEach(function (it) {
      var s = el("span");
      var i = el("i");
      i.style.background = it[1];
      s.appendChild(i);
      s.appendChild(document.createTextNode(it[0]));
      l.appendChild(s);
    });
  }
  function timeline() {
    var g = document.getElementById("timeline"), W = 900, H = 320, L = 55, R = 15, T = 15, B = 40;
    var pts = [], roles = {}, undated = 0;
    builds.forEach(function (b) {
      if (b[C.verdict].indexOf("tom-skype") !== 0) { return; }
      var d = dateOf(b);
      if (!d) { undated++; return; }
      b[C.lists].forEach(function (l) {
        roles[l[0]] = (roles[l[0]] || 0) + 1;
        pts.push({t: day(d), d: d, n: l[1], role: l[0], b: b});
      });
    });
    var cap = document.getElementById("timeline-caption");
    cap.textContent = "Keyword-list size per list, TOM-Skype builds only (" + pts.length + " lists). x: " + basisWords() +
      (undated ? "; " + undated + " TOM builds without that date are not shown" : "") + ". Each point links to its report.";
    var names = Object.keys(roles).sort();
    var colour = {};
    names.forEach(function (r, i) { colour[r] = palette[i % palette.length]; });
    legend("timeline-legend", names.map(function (r) { return [r + " (" + roles[r] + ")", colour[r]]; }));
    if (!pts.length) {
      g.appendChild(svg("text", {x: W / 2, y: H / 2, "text-anchor": "middle", "font-size": 14}, "no dated TOM-Skype builds with keyword lists"));
      return;
    }
    var t0 = Infinity, t1 = -Infinity, nMax = 0;
    pts.forEach(function (p) { t0 = Math.min(t0, p.t); t1 = Math.max(t1, p.t); nMax = Math.max(nMax, p.n); });
    var y0 = new Date(t0).getUTCFullYear(), y1 = new Date(t1).getUTCFullYear() + 1;
    t0 = Date.UTC(y0, 0, 1); t1 = Date.UTC(y1, 0, 1);
    var top = niceMax(nMax);
    function X(t) { return L + (W - L - R) * (t - t0) / (t1 - t0); }
    function Y(n) { return T + (H - T - B) * (1 - n / top); }
    for (var i = 0; i <= 4; i++) {
      var y = Y(top * i / 4);
      g.appendChild(svg("line", {x1: L, x2: W - R, y1: y, y2: y, stroke: "#e3e3e3"}));
      g.appendChild(svg("text", {x: L - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#333"}, String(top * i / 4)));
    }
    var step = Math.max(1, Math.ceil((y1 - y0) / 12));
    for (var yr = y0; yr <= y1; yr += step) {
      var x = X(Date.UTC(yr, 0, 1));
      g.appendChild(svg("line", {x1: x, x2: x, y1: T, y2: H - B, stroke: "#eeeeee"}));
      g.appendChild(svg("text", {x: x, y: H - B + 16, "text-anchor": "middle", "font-size": 11, fill: "#333"}, String(yr)));
    }
    g.appendChild(svg("line", {x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#333"}));
    g.appendChild(svg("text", {x: 12, y: T + (H - T - B) / 2, "font-size": 11, fill: "#333", transform: "rotate(-90 12 " + (T + (H - T - B) / 2) + ")", "text-anchor": "middle"}, "keywords in the list"));
    var r = pts.length > 2000 ? 2 : 3.5;
    pts.forEach(function (p) {
      var a = svg("a", {href: href(p.b)});
      var c = svg("circle", {cx: X(p.t).toFixed(1), cy: Y(p.n).toFixed(1), r: r, fill: colour[p.role], "fill-opacity": 0.75});
      c.appendChild(svg("title", {}, p.b[C.path] + " " + (p.b[C.version] || "") + ", " + p.d + ": " + p.role + " " + p.n + " keywords"));
      a.appendChild(c);
      g.appendChild(a);
    });
  }
  function years() {
    var g = document.getElementById("years"), W = 360, H = 320, L = 40, R = 10, T = 15, B = 40;
    var per = {}, kinds = {};
    builds.forEach(function (b) {
      var d = dateOf(b);
      if (!d) { return; }
      var y = d.slice(0, 4), v = b[C.verdict];
      per[y] = per[y] || {};
      per[y][v] = (per[y][v] || 0) + 1;
      kinds[v] = 1;
    });
    var ys = Object.keys(per).sort(), vs = Object.keys(kinds).sort();
    legend("years-legend", vs.map(function (v) { return [v || "no verdict", verdictColour[v] || "#999"]; }));
    if (!ys.length) {
      g.appendChild(svg("text", {x: W / 2, y: H / 2, "text-anchor": "middle", "font-size": 13}, builds.length ? "no dated builds" : "no builds"));
      return;
    }
    var max = 0;
    ys.forEach(function (y) { var s = 0; vs.forEach(function (v) { s += per[y][v] || 0; }); max = Math.max(max, s); });
    var top = niceMax(max), bw = (W - L - R) / ys.length;
    function Y(n) { return T + (H - T - B) * (1 - n / top); }
    for (var i = 0; i <= 4; i++) {
      var yy = Y(top * i / 4);
      g.appendChild(svg("line", {x1: L, x2: W - R, y1: yy, y2: yy, stroke: "#e3e3e3"}));
      g.appendChild(svg("text", {x: L - 5, y: yy + 4, "text-anchor": "end", "font-size": 11, fill: "#333"}, String(top * i / 4)));
    }
    var every = Math.max(1, Math.ceil(ys.length / 8));
    ys.forEach(function (y, i) {
      var acc = 0, x = L + i * bw;
      vs.forEach(function (v) {
        var n = per[y][v] || 0;
        if (!n) { return; }
        var rect = svg("rect", {x: (x + bw * 0.1).toFixed(1), width: (bw * 0.8).toFixed(1), y: Y(acc + n).toFixed(1), height: (Y(acc) - Y(acc + n)).toFixed(1), fill: verdictColour[v] || "#999"});
        rect.appendChild(svg("title", {}, y + ": " + n + " " + (v || "no verdict")));
        g.appendChild(rect);
        acc += n;
      });
      if (i % every === 0) {
        g.appendChild(svg("text", {x: (x + bw / 2).toFixed(1), y: H - B + 16, "text-anchor": "middle", "font-size": 11, fill: "#333"}, y));
      }
    });
    g.appendChild(svg("line", {x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: "#333"}));
  }
  function charts() {
    ["timeline", "years", "timeline-legend", "years-legend"].forEach(function (id) { document.getElementById(id).textContent = ""; });
    document.getElementById("years-caption").textContent = "Builds per verdict per year (x: " + basisWords() + ").";
    timeline();
    years();
  }
  basisSel.addEventListener("change", function () { charts(); draw(); });
  charts();
  filter();
})();
