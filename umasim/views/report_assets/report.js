/* umasim report: the page's script (inline; it fetches nothing).
 *
 * The data (the <script id="umasim-data"> element) holds the run recorded
 * step by step: per step the thread, vCPU, point and tick; the events; and
 * channels of state (each thread, each zone's caches, bucket lists, slab
 * map and figures, UMA's globals), each a list of [step, value index] at
 * the steps where it changed.  The state at step k is, for every channel,
 * the value of its last change at or before k.
 *
 * For tests and for anyone at the console: window.umasimReport has go(k),
 * step(), stateAt(k) and the data; <body data-step> is the step shown.
 */
(function () {
  "use strict";

  var D = JSON.parse(document.getElementById("umasim-data").textContent);
  var M = D.meta;
  var N = M.steps;
  var SVGNS = "http://www.w3.org/2000/svg";
  var cur = 0;
  var selectedThread = -1;

  // ---- helpers ----------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    add(e, children);
    return e;
  }

  function svg(tag, attrs, children) {
    var e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    add(e, children);
    return e;
  }

  function setAttrs(e, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined) return;
      if (k === "text") e.textContent = String(v);
      else if (k === "class") e.setAttribute("class", v);
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
      else if (k === "style") Object.keys(v).forEach(function (s) { e.style[s] = v[s]; });
      else e.setAttribute(k, String(v));
    });
  }

  function add(e, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
  }

  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }

  function clamp(k) { return Math.max(0, Math.min(N, Math.round(k))); }

  // The value of channel `ch` at `step`: its last change at or before it.
  function valueAt(ch, step) {
    var c = D.changes[ch];
    if (!c || !c.length || c[0][0] > step) return null;
    var lo = 0, hi = c.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (c[mid][0] <= step) lo = mid; else hi = mid - 1;
    }
    return D.values[c[lo][1]];
  }

  // Events by step: first index of each step's events.
  var evFirst = {};
  D.events.forEach(function (e, i) { if (!(e[0] in evFirst)) evFirst[e[0]] = i; });
  function eventsAt(step) {
    var out = [], i = evFirst[step];
    if (i === undefined) return out;
    for (; i < D.events.length && D.events[i][0] === step; i++) out.push(D.events[i]);
    return out;
  }

  function stepInfo(step) {
    // [thread, cpu, point, tick] of step (1..N); null for step 0.
    return step >= 1 ? D.steps[step - 1] : null;
  }

  function threadName(i) { return i >= 0 ? M.threads[i].name : "kernel"; }
  function threadColor(i) {
    if (i < 0) return D.colors.kernel;
    return D.colors.threads[M.threads[i].name] || D.colors.kernel;
  }
  function pointName(p) { return p >= 0 ? D.points[p] : "?"; }

  function threadStateAt(t, step) {
    var v = valueAt("t" + t, step);
    if (!v) return null;
    return { state: v[0], cpu: v[1], wmesg: v[2], mutex: v[3], mutexOwner: v[4],
             locks: v[5], point: v[6], op: v[7], critnest: v[8], waitvar: v[9] };
  }

  function zoneStateAt(k, step) {
    var c = valueAt("z" + k + ".c", step) || [];
    return {
      stats: valueAt("z" + k + ".s", step),
      caches: c.map(function (r, cpu) {
        return { cpu: cpu, alloc: r[0] < 0 ? null : r[0], allocEntries: r[1],
                 free: r[2] < 0 ? null : r[2], freeEntries: r[3], allocs: r[4], frees: r[5] };
      }),
      buckets: valueAt("z" + k + ".b", step) || [[], []],
      slabs: valueAt("z" + k + ".m", step) || []
    };
  }

  function stateAt(step) {
    var g = valueAt("g", step) || [0, 0, 0, 0];
    return {
      step: step,
      ticks: g[0], freePages: g[1], kmemUsed: g[2], bucketdisable: !!g[3],
      threads: M.threads.map(function (t, i) {
        var s = threadStateAt(i, step);
        if (s) s.name = t.name;
        return s;
      }),
      zones: M.zones.map(function (name, k) {
        var z = zoneStateAt(k, step);
        z.name = name;
        return z;
      })
    };
  }

  // ---- the summary ------------------------------------------------------

  function renderSummary() {
    var h = clear($("summary"));
    add(h, el("h1", { text: "umasim report" + (M.trace ? ": " + M.trace : "") }));
    var p = el("p", null, [
      el("span", { class: "outcome " + M.outcome, id: "outcome", text: M.outcome }),
      " after " + N + " steps, " + M.ticks + " ticks",
      M.bugs.length ? " \u2014 bug switches: " + M.bugs.join(", ") : "",
      M.granularity !== "coarse" ? " \u2014 granularity " + M.granularity : ""
    ]);
    add(h, p);
    var msgs = [];
    if (M.panic) msgs.push("panic: " + M.panic);
    if (M.host_fault) msgs.push("host fault: " + M.host_fault);
    M.expectations.forEach(function (f) { msgs.push("expectation: " + f); });
    if (D.explain && D.explain.failure) {
      var f = D.explain.failure;
      var fm = f.message || f.property || "";
      if (fm && msgs.indexOf("panic: " + fm) < 0) msgs.push((f.kind ? f.kind + ": " : "") + fm);
    }
    var box = el("div", { id: "message" });
    msgs.forEach(function (m) { add(box, el("p", { class: "message", text: m })); });
    add(h, box);
    if (M.replay) {
      add(h, el("p", null, ["Replay: ", el("code", { id: "replay", text: M.replay })]));
    }
    if (M.comment) add(h, el("pre", { class: "muted", text: M.comment }));
    add(h, el("p", { class: "muted", text: "umasim " + M.umasim + "; final digest " +
                     M.digest + "; built from an exact replay of the trace (every digest " +
                     "compared)." }));
  }

  // ---- the timeline -----------------------------------------------------

  var TL = { width: 1000, lane: 16, top: 14, left: 52 };

  function laneY(cpu) { return TL.top + cpu * (TL.lane + 4); }

  function renderOverview() {
    var box = clear($("timeline-overview"));
    var h = TL.top + M.cpus * (TL.lane + 4) + 4;
    var w = TL.width, plotW = w - TL.left - 4;
    var s = svg("svg", { viewBox: "0 0 " + w + " " + h, id: "overview-svg",
                         preserveAspectRatio: "none", height: h });
    for (var c = 0; c < M.cpus; c++) {
      add(s, svg("text", { x: 2, y: laneY(c) + TL.lane - 4, "font-size": 11,
                           text: "vCPU " + c }));
      add(s, svg("rect", { x: TL.left, y: laneY(c), width: plotW, height: TL.lane,
                           fill: "#f3f3f3" }));
    }
    var scale = N > 0 ? plotW / N : plotW;
    // Runs of consecutive steps of one thread on one vCPU: one bar each.
    var i = 0;
    while (i < N) {
      var st = D.steps[i], j = i + 1;
      while (j < N && D.steps[j][0] === st[0] && D.steps[j][1] === st[1]) j++;
      if (st[1] >= 0) {
        add(s, svg("rect", { x: TL.left + i * scale, y: laneY(st[1]),
                             width: Math.max((j - i) * scale, 0.6), height: TL.lane,
                             fill: threadColor(st[0]), class: "tl-bar" }));
      }
      i = j;
    }
    if (D.explain) {
      D.explain.decisive.forEach(function (d) {
        add(s, svg("path", { d: "M" + (TL.left + (d.step - 0.5) * scale) + " 2 l-4 -0 l4 8 l4 -8 z",
                             fill: "#b00000" }));
      });
    }
    var cursor = svg("rect", { id: "overview-cursor", y: 0, height: h, width: 2,
                               fill: "#000", opacity: 0.6 });
    add(s, cursor);
    s.addEventListener("click", function (ev) {
      var r = s.getBoundingClientRect();
      var x = (ev.clientX - r.left) * (w / r.width) - TL.left;
      go(Math.floor(x / scale) + 1);
    });
    add(box, s);
    TL.scale = scale;
  }

  var WINDOW = 30;   // steps each side of the current one in the detail view

  function renderDetail() {
    var box = clear($("timeline-detail"));
    var lo = Math.max(1, cur - WINDOW), hi = Math.min(N, lo + 2 * WINDOW);
    lo = Math.max(1, Math.min(lo, hi - 2 * WINDOW));
    var h = TL.top + M.cpus * (TL.lane + 4) + 18;
    var w = TL.width, plotW = w - TL.left - 4;
    var cell = plotW / (2 * WINDOW + 1);
    var s = svg("svg", { viewBox: "0 0 " + w + " " + h, id: "detail-svg", height: h });
    for (var c = 0; c < M.cpus; c++) {
      add(s, svg("text", { x: 2, y: laneY(c) + TL.lane - 4, "font-size": 11,
                           text: "vCPU " + c }));
    }
    for (var k = lo; k <= hi && N > 0; k++) {
      var st = D.steps[k - 1], x = TL.left + (k - lo) * cell;
      if (st[1] < 0) continue;
      var bar = svg("rect", { x: x + 0.5, y: laneY(st[1]), width: cell - 1, height: TL.lane,
                              fill: threadColor(st[0]), class: "tl-bar",
                              stroke: k === cur ? "#000" : "none", "stroke-width": 2,
                              "data-step": k },
                    svg("title", { text: "step " + k + ": " + threadName(st[0]) + " on vCPU " +
                                   st[1] + ", stopped at " + pointName(st[2]) }));
      bar.addEventListener("click", (function (kk) { return function () { go(kk); }; })(k));
      add(s, bar);
      eventsAt(k).forEach(function (e) {
        var kind = D.event_kinds[e[1]], mk = D.colors.marks[kind];
        if (!mk) return;
        var cpu = e[3] >= 0 ? e[3] : st[1];
        add(s, svg("text", { x: x + cell / 2, y: laneY(cpu) + 2, "font-size": 10,
                             "text-anchor": "middle", fill: mk[1] },
                   [mk[0], svg("title", { text: mk[2] })]));
      });
      if (k === cur || ((k - lo) % 5 === 0 && Math.abs(k - cur) > 2)) {
        add(s, svg("text", { x: x + cell / 2, y: h - 3, "font-size": 9,
                             "text-anchor": "middle", text: String(k),
                             "font-weight": k === cur ? "bold" : "normal" }));
      }
    }
    add(box, s);
  }

  function renderLegend() {
    var box = clear($("timeline-legend"));
    M.threads.forEach(function (t, i) {
      add(box, el("span", null, [el("span", { class: "swatch",
                                              style: { background: threadColor(i) } }),
                                 t.name + (t.kernel ? " (kernel)" : "")]));
    });
    Object.keys(D.colors.marks).forEach(function (k) {
      var mk = D.colors.marks[k];
      add(box, el("span", null, [el("b", { text: mk[0], style: { color: mk[1] } }),
                                 " " + mk[2]]));
    });
  }

  function moveCursors() {
    var c = $("overview-cursor");
    if (c) c.setAttribute("x", TL.left + Math.max(cur - 1, 0) * TL.scale);
    var cc = $("curve-cursor");
    if (cc) cc.setAttribute("x1", curveX(cur)), cc.setAttribute("x2", curveX(cur));
  }

  // ---- P(failure) -------------------------------------------------------

  var CV = { width: 1000, height: 180, left: 40, right: 10, top: 10, bottom: 24 };
  function curveX(step) {
    return CV.left + (N > 0 ? step / N : 0) * (CV.width - CV.left - CV.right);
  }
  function curveY(p) { return CV.top + (1 - p) * (CV.height - CV.top - CV.bottom); }

  function renderCurve() {
    var box = clear($("curve"));
    var dbox = clear($("decisive"));
    var X = D.explain;
    if (!X) {
      add(box, el("p", { class: "muted", id: "curve-none", text: noExplanation() }));
      return;
    }
    if (X.deterministic) {
      add(box, el("p", { id: "curve-deterministic",
                         text: "Every schedule reaches this failure: it does not depend on " +
                               "the interleaving, so there is no curve and no decisive step." }));
    }
    var s = svg("svg", { viewBox: "0 0 " + CV.width + " " + CV.height, id: "curve-svg",
                         height: CV.height });
    [0, 0.5, 1].forEach(function (p) {
      add(s, svg("line", { x1: CV.left, x2: CV.width - CV.right, y1: curveY(p), y2: curveY(p),
                           stroke: "#ddd" }));
      add(s, svg("text", { x: 4, y: curveY(p) + 4, "font-size": 11, text: p.toFixed(1) }));
    });
    add(s, svg("text", { x: CV.width / 2, y: CV.height - 4, "font-size": 11,
                         "text-anchor": "middle", text: "step" }));
    if (X.curve.length) {
      var d = X.curve.map(function (sp, i) {
        return (i ? "L" : "M") + curveX(sp[0]).toFixed(1) + " " + curveY(sp[1]).toFixed(1);
      }).join(" ");
      add(s, svg("path", { d: d, fill: "none", stroke: "#1f77b4", "stroke-width": 1.5,
                           id: "curve-path" }));
    }
    X.decisive.forEach(function (dv, i) {
      var y = curveY(dv.p_after === undefined ? 1 : dv.p_after);
      var m = svg("circle", { cx: curveX(dv.step), cy: y, r: 6, fill: "#b00000",
                              class: "decisive-mark", "data-step": dv.step,
                              id: "decisive-mark-" + i },
                  svg("title", { text: "decisive step " + dv.step + ": " + (dv.thread || "") +
                                 " at " + (dv.point || "") }));
      m.addEventListener("click", function () { go(dv.step); });
      add(s, m);
    });
    add(s, svg("line", { id: "curve-cursor", y1: CV.top, y2: CV.height - CV.bottom,
                         x1: curveX(cur), x2: curveX(cur), stroke: "#000",
                         "stroke-width": 1.5, opacity: 0.6 }));
    add(box, s);
    if (X.decisive.length) {
      var t = el("table", { id: "decisive-table" }, el("tr", null,
        ["step", "vCPU", "thread", "operation", "point", "function", "FreeBSD 7 line",
         "P before", "P after"].map(function (h) { return el("th", { text: h }); })));
      X.decisive.forEach(function (dv) {
        var row = el("tr", { class: "clickable", "data-step": dv.step,
                             onclick: function () { go(dv.step); } },
          [dv.step, dv.cpu, dv.thread, dv.op, dv.point, dv.function, dv.line,
           fmtP(dv.p_before), fmtP(dv.p_after)].map(function (v) {
             return el("td", { text: v === undefined || v === null ? "" : v });
           }));
        add(t, row);
      });
      add(dbox, el("p", { text: "Decisive steps: where the probability of this failure jumps; " +
                           "the point is where the thread chosen by the step's decision had " +
                           "stopped (where the preemption or migration happened)." }));
      add(dbox, t);
    } else if (!X.deterministic) {
      add(dbox, el("p", { class: "muted", text: "No decisive step: the probability never jumps." }));
    }
    var more = [];
    if (X.continuations !== undefined) more.push(X.continuations + " continuations a step");
    if (X.seed !== undefined) more.push("seed " + X.seed);
    if (more.length) add(dbox, el("p", { class: "muted", text: more.join(", ") }));
  }

  function noExplanation() {
    return M.outcome === "completed" && M.ok ?
      "The run completed as its scenario expects: there is no failure to explain." :
      "Not computed: this page was built without umasim explain (umasim report " +
      "--no-explain, or a run that explain does not count as a failure).";
  }

  function fmtP(p) { return typeof p === "number" ? p.toFixed(2) : ""; }

  // ---- the current step -------------------------------------------------

  function placesFor(point, state) {
    var all = D.sources[point] || [];
    var blocked = state === "blocked" || state === "asleep";
    var want = all.filter(function (p) { return (p[3] === "block") === blocked; });
    return want.length ? want : all;
  }

  function renderSource(box, point, state, heading) {
    var places = placesFor(point, state);
    add(box, el("h3", { text: heading }));
    if (!places.length) {
      add(box, el("p", { class: "muted", text: "No source line for point " + point + "." }));
      return;
    }
    places.forEach(function (pl, n) {
      var file = pl[0], line = pl[1], func = pl[2], first = pl[4], lines = pl[5];
      var pre = el("pre");
      lines.forEach(function (text, i) {
        var ln = first + i;
        add(pre, el("span", { class: "line" + (ln === line ? " hl" : ""),
                              "data-line": ln },
                    [el("span", { class: "ln", text: String(ln) }), text]));
      });
      add(box, el("div", { class: "src", "data-point": point, "data-file": "csrc/" + file,
                           "data-line": line },
                  [el("div", { class: "where", text: (n ? "or " : "") + "csrc/" + file + ":" +
                                line + " in " + func + "()" }), pre]));
    });
  }

  function renderStep() {
    var info = stepInfo(cur);
    var title = $("step-title"), where = clear($("step-where")), srcBox = clear($("source"));
    if (!info) {
      title.textContent = "Before the first step";
      add(where, "The state after UMA's boot and the scenario's zones, before any step.");
    } else {
      var th = info[0], ts = threadStateAt(th, cur), before = threadStateAt(th, cur - 1);
      var pt = pointName(info[2]);
      var from = before ? before.point : "start";
      title.textContent = "Step " + cur + " of " + N;
      var fl = info[2] >= 0 ? D.point_lines[info[2]] : 0;
      add(where, [el("b", { text: threadName(th) }), " ran on vCPU " + info[1] + " from ",
                  el("code", { id: "step-from", text: from }),
                  ", where the step's decision resumed it, and stopped at ",
                  el("code", { id: "step-point", text: pt }),
                  " (" + (info[2] >= 0 ? D.point_funcs[info[2]] : "no point") +
                  (fl > 0 ? ", FreeBSD 7's sys/vm/uma_core.c line " + fl : "") + ")",
                  "; tick " + info[3] + "."]);
      renderSource(srcBox, pt, ts ? ts.state : "", "Where it stopped: " + pt);
      renderSource(srcBox, from, before ? before.state : "", "Where it was resumed: " + from);
    }
    var ul = clear($("step-events"));
    var evs = eventsAt(cur);
    if (!evs.length) add(ul, el("li", { class: "muted", text: "none" }));
    evs.forEach(function (e) {
      var kind = D.event_kinds[e[1]];
      var txt = kind + " \u2014 " + threadName(e[2]) + (e[3] >= 0 ? " on vCPU " + e[3] : "") +
        ": a=" + e[4] + " b=" + e[5] + (e.length > 6 ? " (" + e[6] + ")" : "");
      add(ul, el("li", { class: "mono", text: txt }));
    });
  }

  // ---- threads ----------------------------------------------------------

  function renderThreads() {
    var t = clear($("threads"));
    add(t, el("tr", null, ["thread", "state", "vCPU", "wait message", "waiting for",
                           "locks held", "critical", "point", "operation"].map(function (h) {
      return el("th", { text: h });
    })));
    var ran = stepInfo(cur);
    M.threads.forEach(function (th, i) {
      var s = threadStateAt(i, cur);
      if (!s) return;
      var waiting = s.mutex ? "mutex " + s.mutex + (s.mutexOwner ? " (owned by " +
                                                    s.mutexOwner + ")" : "") :
        (s.waitvar && s.state === "waiting" ? "variable " + s.waitvar : "");
      var row = el("tr", { id: "thread-" + i, "data-thread": th.name, "data-state": s.state,
                           class: "clickable" + (ran && ran[0] === i ? " current" : ""),
                           title: "click: select this thread (e / Shift+e: its next / previous step)",
                           onclick: function () { selectedThread = i; renderThreads(); } }, [
        el("td", null, [el("span", { class: "swatch", style: { background: threadColor(i) } }),
                        th.name + (th.kernel ? " (kernel)" : "") +
                        (selectedThread === i ? " \u2713" : "")]),
        el("td", { class: "state", text: s.state }),
        el("td", { class: "cpu", text: String(s.cpu) }),
        el("td", { class: "wmesg", text: s.wmesg }),
        el("td", { class: "waiting", text: waiting }),
        el("td", { class: "locks", text: s.locks.join(", ") }),
        el("td", { class: "critnest", text: s.critnest ? "yes (" + s.critnest + ")" : "" }),
        el("td", { class: "point mono", text: s.point }),
        el("td", { class: "op mono", text: s.state === "finished" ? "" : s.op })
      ]);
      add(t, row);
    });
  }

  // ---- zones ------------------------------------------------------------

  function bucketBar(count, entries, color) {
    if (count === null) return el("span", { class: "muted", text: "no bucket" });
    var w = Math.max(entries, 1) * 4;
    return el("span", null, [
      el("span", { class: "bucket", style: { width: w + "px" } },
         el("span", { class: "fill", style: { width: (count * 4) + "px", background: color } })),
      " " + count + "/" + entries]);
  }

  function itemColor(code) {
    var cat = { ".": "slab", "H": "held", "O": "out", "B": "bucket", "T": "other" }[code];
    if (cat) return [D.colors.category[cat], D.colors.category_labels[cat]];
    var i = D.cpu_codes.indexOf(code);
    if (i < 0) return ["#000", "?"];
    var cpu = i >> 1, alloc = (i & 1) === 0;
    return [alloc ? D.colors.cpu_alloc[cpu] : D.colors.cpu_free[cpu],
            "vCPU " + cpu + (alloc ? " alloc" : " free") + " bucket"];
  }

  var MAX_SLABS = 48;

  function renderZones() {
    var box = clear($("zones"));
    var g = valueAt("g", cur) || [0, 0, 0, 0];
    var gl = clear($("globals"));
    add(gl, "free pages " + g[1] + ", kmem_map pages in use " + g[2] +
        (g[3] ? ", bucketdisable set" : "") + "; tick " + g[0]);
    M.zones.forEach(function (name, k) {
      var z = zoneStateAt(k, cur);
      var div = el("div", { class: "zone", id: "zone-" + k, "data-zone": name });
      add(box, div);
      var st = z.stats;
      if (!st || st.gone) {
        add(div, el("h3", { text: "zone " + name }));
        add(div, el("p", { class: "muted", text: st && st.gone ? st.gone : "not created yet" }));
        return;
      }
      add(div, el("h3", { text: "zone " + name }));
      add(div, el("p", { class: "zone-stats", text:
        "size " + st.size + " (rsize " + st.rsize + "), " + st.ipers + " items a slab; used " +
        st.used + ", per-CPU " + st.cache + ", zone buckets " + st.bucket +
        ", free in slabs " + st.slab + ", pages " + st.pages + ", uz_count " + st.uz_count +
        (st.limit ? ", limit " + st.limit : "") + (st.full ? " (FULL)" : "") +
        (st.fails ? ", fails " + st.fails : "") }));
      // Per-CPU caches.
      var ct = el("table", { id: "caches-" + k, class: "caches" }, el("tr", null,
        ["vCPU", "alloc bucket", "free bucket", "uc_allocs", "uc_frees"].map(function (h) {
          return el("th", { text: h });
        })));
      z.caches.forEach(function (c) {
        add(ct, el("tr", { "data-cpu": c.cpu,
                           "data-alloc": c.alloc === null ? "" : c.alloc,
                           "data-free": c.free === null ? "" : c.free }, [
          el("td", { text: "vCPU " + c.cpu }),
          el("td", { class: "alloc" }, bucketBar(c.alloc, c.allocEntries, D.colors.cpu_alloc[c.cpu])),
          el("td", { class: "free" }, bucketBar(c.free, c.freeEntries, D.colors.cpu_free[c.cpu])),
          el("td", { class: "allocs", text: String(c.allocs) }),
          el("td", { class: "frees", text: String(c.frees) })
        ]));
      });
      add(div, el("h4", { text: "per-CPU buckets (items/capacity)" }));
      add(div, ct);
      // Bucket lists.
      var bl = el("div", { id: "buckets-" + k, class: "bucket-lists",
                           "data-full": z.buckets[0].length, "data-free": z.buckets[1].length });
      [["full", z.buckets[0]], ["free", z.buckets[1]]].forEach(function (pair) {
        var p = el("p", { class: "list-" + pair[0] }, "zone's " + pair[0] + "-bucket list (uz_" +
                   pair[0] + "_bucket): " + (pair[1].length ? "" : "empty"));
        pair[1].forEach(function (b) {
          add(p, [" ", bucketBar(b[0], b[1], D.colors.category.bucket)]);
        });
        add(bl, p);
      });
      add(div, bl);
      // Slab item map.
      add(div, el("h4", { text: "keg slabs: " + z.slabs.length +
                          " (uk_part_slab, uk_free_slab, uk_full_slab)" }));
      var map = el("div", { class: "slabmap", id: "slabs-" + k });
      var per = {};
      var present = {};
      z.slabs.slice(0, MAX_SLABS).forEach(function (sl) {
        var lst = sl[0], n = per[lst] = (per[lst] || 0) + 1;
        var row = el("div", { class: "row", "data-list": lst, "data-items": sl[2] },
                     el("span", { class: "label", text: lst + " slab #" + (n - 1) }));
        for (var i = 0; i < sl[2].length; i++) {
          var code = sl[2][i], ci = itemColor(code), v = sl[3][String(i)];
          present[ci[1]] = ci[0];
          add(row, el("span", { class: "item", style: { background: ci[0] },
                                title: sl[1] + "[" + i + "]: " + ci[1] + (v ? " (" + v + ")" : ""),
                                text: v ? v.slice(0, 2) : "" }));
        }
        add(map, row);
      });
      if (z.slabs.length > MAX_SLABS) {
        add(map, el("p", { class: "muted", text: (z.slabs.length - MAX_SLABS) + " more slabs not shown" }));
      }
      if (!z.slabs.length) add(map, el("p", { class: "muted", text: "no slabs" }));
      add(div, map);
      var lg = el("div", { class: "legend" });
      Object.keys(present).sort().forEach(function (label) {
        add(lg, el("span", null, [el("span", { class: "swatch", style: { background: present[label] } }),
                                  label]));
      });
      add(div, lg);
    });
  }

  // ---- the happens-before slice -----------------------------------------

  function renderSlice() {
    var box = clear($("slice"));
    var X = D.explain;
    if (!X || !X.slice.length) {
      add(box, el("p", { class: "muted", text: X ? "Empty: no operation on what the failure " +
                                                     "involves." : noExplanation() }));
      return;
    }
    var cols = [];
    X.slice.forEach(function (r) {
      var t = r.thread === undefined ? "" : String(r.thread);
      if (cols.indexOf(t) < 0) cols.push(t);
    });
    var t = el("table", { class: "slice", id: "slice-table" },
               el("tr", null, [el("th", { text: "step" })].concat(cols.map(function (c) {
                 return el("th", { text: c });
               }))));
    X.slice.forEach(function (r) {
      var known = { thread: 1, step: 1, cpu: 1, object: 1, detail: 1, op: 1 };
      var text = (r.cpu !== undefined && r.cpu !== null ? "vCPU " + r.cpu + ": " : "") +
        [r.object, r.detail].filter(function (v) { return v; }).join(" \u2014 ") +
        (r.op ? "  [" + r.op + "]" : "");
      Object.keys(r).filter(function (k) { return !known[k]; }).forEach(function (k) {
        text += "; " + k + ": " + (typeof r[k] === "object" ? JSON.stringify(r[k]) : r[k]);
      });
      var row = el("tr", { class: "clickable" + (r.step === cur ? " current" : ""),
                           "data-step": r.step,
                           onclick: function () { if (typeof r.step === "number") go(r.step); } },
                   [el("td", { text: r.step === undefined ? "" : String(r.step) })]);
      cols.forEach(function (c) {
        add(row, el("td", { class: "mono", text: c === String(r.thread) ? text : "" }));
      });
      add(t, row);
    });
    add(box, t);
  }

  // ---- moving through the steps -----------------------------------------

  function render() {
    $("slider").value = String(cur);
    $("step-input").value = String(cur);
    renderDetail();
    moveCursors();
    renderStep();
    renderThreads();
    renderZones();
    renderSlice();
    document.body.setAttribute("data-step", String(cur));
    try { history.replaceState(null, "", "#step=" + cur); } catch (e) { /* not allowed here */ }
  }

  function go(k) {
    k = clamp(k);
    if (isNaN(k)) return;
    cur = k;
    render();
  }

  function decisiveSteps() {
    return D.explain ? D.explain.decisive.map(function (d) { return d.step; })
      .sort(function (a, b) { return a - b; }) : [];
  }

  function threadStep(dir) {
    var t = selectedThread >= 0 ? selectedThread : (stepInfo(cur) || [-1])[0];
    for (var k = cur + dir; k >= 1 && k <= N; k += dir) {
      if (D.steps[k - 1][0] === t) return k;
    }
    return cur;
  }

  function onKey(ev) {
    if (ev.target && ev.target.id === "step-input") return;
    var k = null, big = ev.shiftKey ? 10 : 1;
    switch (ev.key) {
      case "ArrowRight": k = cur + big; break;
      case "ArrowLeft": k = cur - big; break;
      case "PageDown": k = cur + 100; break;
      case "PageUp": k = cur - 100; break;
      case "Home": k = 0; break;
      case "End": k = N; break;
      case "d": case "D": {
        var ds = decisiveSteps();
        if (ev.shiftKey || ev.key === "D") {
          var prev = ds.filter(function (s) { return s < cur; });
          k = prev.length ? prev[prev.length - 1] : cur;
        } else {
          var next = ds.filter(function (s) { return s > cur; });
          k = next.length ? next[0] : cur;
        }
        break;
      }
      case "e": case "E": k = threadStep(ev.shiftKey || ev.key === "E" ? -1 : 1); break;
      default: return;
    }
    ev.preventDefault();
    go(k);
  }

  function init() {
    renderSummary();
    var slider = $("slider");
    slider.max = String(N);
    $("step-input").max = String(N);
    $("step-of").textContent = "of " + N;
    slider.addEventListener("input", function () { go(parseInt(slider.value, 10)); });
    $("step-input").addEventListener("change", function () {
      go(parseInt($("step-input").value, 10));
    });
    $("btn-first").addEventListener("click", function () { go(0); });
    $("btn-prev").addEventListener("click", function () { go(cur - 1); });
    $("btn-next").addEventListener("click", function () { go(cur + 1); });
    $("btn-last").addEventListener("click", function () { go(N); });
    document.addEventListener("keydown", onKey);
    renderOverview();
    renderLegend();
    renderCurve();
    var m = /#step=(\d+)/.exec(location.hash || "");
    go(m ? parseInt(m[1], 10) : N);
    document.body.setAttribute("data-ready", "1");
  }

  window.umasimReport = { data: D, go: go, step: function () { return cur; },
                          stateAt: stateAt };
  try {
    init();
  } catch (e) {
    var box = document.createElement("div");
    box.id = "error";
    box.textContent = "umasim report: " + e;
    document.body.insertBefore(box, document.body.firstChild);
    throw e;
  }
})();
