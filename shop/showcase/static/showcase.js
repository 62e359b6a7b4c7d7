/* /showcase: draws every panel from the public APIs, then again every data-refresh-seconds.
 * Each panel is drawn on its own: one API failing leaves the others up to date. Text from the APIs goes in
 * through textContent and ECharts options only, never as HTML. */
(function () {
  "use strict";

  var body = document.body;
  var API = body.dataset.api;
  var PERIOD = "from=" + encodeURIComponent(body.dataset.from) + "&to=" + encodeURIComponent(body.dataset.to);
  var REFRESH_SECONDS = Math.max(1, parseInt(body.dataset.refreshSeconds, 10) || 60);
  var EMPTY = "-"; // ECharts' own "no value": a suppressed figure draws no bar
  var DASH = "—";
  var TEXT = "#e8f1fa";
  var MUTED = "#9db4c9";
  var COLORS = ["#f5a623", "#4fc3f7", "#81c784", "#ba68c8", "#ff8a65"];
  var MARKET_LABELS = { inside: "市内", outside: "市外", unknown: "未知" };
  var GI_SCHEMES = { gi_trademark: "地理标志证明商标", gi_protected_product: "地理标志保护产品",
                     agricultural_gi: "农产品地理标志" };
  var PANEL_NAMES = { district: "区县销售额", supporter: "支援省市排行", pair: "结对排行", month: "月度趋势", market: "市内/市外",
                      campaigns: "预售", products: "地理标志产品" };
  var charts = {};
  var demoSeen = body.dataset.demo === "1";
  var failures = [];

  // Chart text follows the page's type size, which grows with the screen (showcase.css).
  function fontSize() { return Math.round(0.85 * parseFloat(getComputedStyle(document.documentElement).fontSize)); }

  function grouped(text) { return text.replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  function fenText(fen) {
    if (fen === null || fen === undefined) { return DASH; }
    var yuan = fen / 100;
    if (Math.abs(yuan) >= 10000) { return grouped((yuan / 10000).toFixed(2)) + " 万元"; }
    return grouped(yuan.toFixed(2)) + " 元";
  }

  function yuanOf(fen) { return fen === null || fen === undefined ? EMPTY : fen / 100; }

  function quantityText(quantity) { return quantity === null || quantity === undefined ? DASH : grouped(String(quantity)); }

  function axisYuan(value) {
    return Math.abs(value) >= 10000 ? grouped(String(+(value / 10000).toFixed(1))) + "万" : grouped(String(value));
  }

  function tooltipYuan(value) { return value === EMPTY || value === null ? DASH : fenText(Math.round(value * 100)); }

  function fetchJson(path) {
    return fetch(API + path, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(path.split("?")[0] + " HTTP " + response.status); }
        return response.json();
      });
  }

  function chart(id) {
    if (!charts[id]) {
      var el = document.getElementById(id);
      var instance = echarts.init(el, null, { renderer: "canvas" });
      // data-settled: the round whose drawing (animation included) has finished, for screenshots and tests.
      instance.on("finished", function () { el.dataset.settled = el.dataset.rendered; });
      if (window.ResizeObserver) {
        new ResizeObserver(function () { instance.resize(); }).observe(el);
      }
      charts[id] = instance;
    }
    return charts[id];
  }

  var drawn = {}; // id -> the last option drawn, as JSON (formatters left out)

  function draw(id, option, round, kind) {
    var instance = chart(id);
    var el = document.getElementById(id);
    kind = kind || "chart";
    option.textStyle = { fontFamily: getComputedStyle(body).fontFamily, fontSize: fontSize() };
    var json = kind + JSON.stringify(option);
    delete el.dataset.failed;
    el.dataset.rendered = String(round);
    if (drawn[id] === json) {
      el.dataset.settled = el.dataset.rendered; // the same figures: nothing to draw again
      return;
    }
    // Same kind of drawing as last round: merge, so that bars move to their new values instead of being
    // drawn again from zero every refresh. A message replaces a chart (and back) whole.
    var replace = el.dataset.kind !== kind;
    drawn[id] = json;
    el.dataset.kind = kind;
    instance.setOption(option, replace);
  }

  function drawMessage(id, message, round) {
    draw(id, { graphic: { type: "text", left: "center", top: "middle",
                          style: { text: message, fill: MUTED, fontSize: Math.round(1.3 * fontSize()) } } }, round, "message:" + message);
  }

  function byAmount(items) {
    // Largest first; suppressed groups (no figure) last, in the API's order.
    return items.slice().sort(function (a, b) {
      if (a.suppressed !== b.suppressed) { return a.suppressed ? 1 : -1; }
      return (b.amount_fen || 0) - (a.amount_fen || 0);
    });
  }

  function labelsWithDash(items) {
    return function (value, index) { return items[index] && items[index].suppressed ? value + " " + DASH : value; };
  }

  function axisTooltip() {
    return { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: tooltipYuan };
  }

  var suppression = { minBuyers: null, any: false };

  function noteSuppression(stats) {
    if (typeof stats.min_buyers === "number") { suppression.minBuyers = stats.min_buyers; }
    var withheld = stats.withheld && stats.withheld.groups > 0;
    if (withheld || stats.items.some(function (item) { return item.suppressed; })) { suppression.any = true; }
  }

  function horizontalBars(items, series, extra) {
    var option = {
      color: COLORS,
      grid: { left: 8, right: 72, top: series.length > 1 ? 36 : 8, bottom: 8, containLabel: true },
      tooltip: axisTooltip(),
      xAxis: { type: "value", name: "元", axisLabel: { fontSize: fontSize(), color: MUTED, formatter: axisYuan },
               splitLine: { lineStyle: { color: "rgba(255,255,255,0.08)" } } },
      yAxis: { type: "category", inverse: true, data: items.map(function (item) { return item.label; }),
               axisLabel: { fontSize: fontSize(), color: TEXT, formatter: labelsWithDash(items) } },
      series: series.map(function (s) { return Object.assign({ barMaxWidth: 36 }, s); })
    };
    if (series.length > 1) {
      option.legend = { top: 0, textStyle: { fontSize: fontSize(), color: TEXT } };
    }
    return Object.assign(option, extra || {});
  }

  function barLabel() {
    return { show: true, position: "right", color: TEXT, fontSize: fontSize(),
             formatter: function (p) { return tooltipYuan(p.value); } };
  }

  // Nothing to draw when every group is empty or withheld: the page says why instead of an empty chart.
  function nothingShown(stats) {
    return !stats.items.some(function (i) { return !i.suppressed && i.amount_fen; });
  }

  function withheldMessage(stats) {
    return stats.items.length ? "各组买家少于" + stats.min_buyers + "个，数据不单独公布" : "本期暂无数据";
  }

  function ranking(id, stats, round) {
    noteSuppression(stats);
    if (nothingShown(stats)) { return drawMessage(id, withheldMessage(stats), round); }
    var items = byAmount(stats.items);
    draw(id, horizontalBars(items, [
      { name: "消费帮扶金额", type: "bar", data: items.map(function (i) { return yuanOf(i.amount_fen); }),
        label: barLabel() }
    ]), round);
  }

  var panels = {
    district: function (round) {
      return fetchJson("/assistance/stats?group_by=district&" + PERIOD).then(function (stats) {
        noteSuppression(stats);
        var items = byAmount(stats.items);
        draw("chart-district", horizontalBars(items, [
          { name: "销售额", type: "bar", data: items.map(function (i) { return yuanOf(i.amount_fen); }),
            label: barLabel() },
          { name: "其中对口支援消费帮扶", type: "bar",
            data: items.map(function (i) { return yuanOf(i.via_pairs_fen); }) }
        ]), round);
        document.getElementById("kpi-amount").textContent = fenText(stats.total.amount_fen);
        document.getElementById("kpi-quantity").textContent = quantityText(stats.total.quantity);
      });
    },
    supporter: function (round) {
      return fetchJson("/assistance/stats?group_by=supporter&" + PERIOD).then(function (stats) {
        // Provinces, each with its cities' pairs: their total is all the money that came through a pair.
        document.getElementById("kpi-via-pairs").textContent = fenText(stats.total.amount_fen);
        return ranking("chart-supporter", stats, round);
      });
    },
    pair: function (round) {
      return fetchJson("/assistance/stats?group_by=pair&" + PERIOD).then(function (stats) {
        return ranking("chart-pair", stats, round);
      });
    },
    month: function (round) {
      return fetchJson("/assistance/stats?group_by=month&" + PERIOD).then(function (stats) {
        noteSuppression(stats);
        var items = stats.items.slice().sort(function (a, b) { return a.key < b.key ? -1 : a.key > b.key ? 1 : 0; });
        if (!items.length) { return drawMessage("chart-month", "本期暂无销售", round); }
        draw("chart-month", {
          color: COLORS,
          legend: { top: 0, textStyle: { fontSize: fontSize(), color: TEXT } },
          grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
          tooltip: { trigger: "axis" },
          xAxis: { type: "category", data: items.map(function (i) { return i.key; }),
                   axisLabel: { fontSize: fontSize(), color: TEXT, formatter: labelsWithDash(items) } },
          yAxis: [
            { type: "value", name: "元", axisLabel: { fontSize: fontSize(), color: MUTED, formatter: axisYuan },
              splitLine: { lineStyle: { color: "rgba(255,255,255,0.08)" } } },
            { type: "value", name: "件", axisLabel: { fontSize: fontSize(), color: MUTED }, splitLine: { show: false } }
          ],
          series: [
            { name: "销售额", type: "line", smooth: true, areaStyle: { opacity: 0.2 },
              data: items.map(function (i) { return yuanOf(i.amount_fen); }),
              tooltip: { valueFormatter: tooltipYuan } },
            { name: "件数", type: "bar", yAxisIndex: 1, barMaxWidth: 24,
              data: items.map(function (i) { return i.quantity === null ? EMPTY : i.quantity; }) }
          ]
        }, round);
      });
    },
    market: function (round) {
      return fetchJson("/assistance/stats?group_by=market&" + PERIOD).then(function (stats) {
        noteSuppression(stats);
        var items = stats.items;
        if (nothingShown(stats)) { return drawMessage("chart-market", withheldMessage(stats), round); }
        draw("chart-market", {
          color: COLORS,
          legend: { bottom: 0, textStyle: { fontSize: fontSize(), color: TEXT } },
          tooltip: { trigger: "item", valueFormatter: tooltipYuan },
          series: [{
            name: "市内 / 市外", type: "pie", radius: ["35%", "65%"],
            label: { fontSize: fontSize(), color: TEXT, formatter: function (p) {
              return p.value === EMPTY ? p.name + " " + DASH : p.name + "\n" + tooltipYuan(p.value) + "（" + p.percent + "%）";
            } },
            data: items.map(function (i) {
              return { name: i.label || MARKET_LABELS[i.key], value: yuanOf(i.amount_fen) };
            })
          }]
        }, round);
      });
    },
    campaigns: function (round) {
      return fetchJson("/campaigns?status=open&limit=100").then(function (page) {
        var items = page.items;
        document.getElementById("kpi-campaigns").textContent = String(items.length) + (page.next_cursor ? "+" : "");
        if (items.some(function (c) { return c.title.indexOf("演示") >= 0; })) { demoSeen = true; }
        if (!items.length) { return drawMessage("chart-campaigns", "暂无进行中的预售", round); }
        draw("chart-campaigns", {
          color: ["rgba(255,255,255,0.18)", COLORS[0]],
          legend: { top: 0, textStyle: { fontSize: fontSize(), color: TEXT } },
          grid: { left: 8, right: 96, top: 36, bottom: 8, containLabel: true },
          tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
          xAxis: { type: "value", name: "件", axisLabel: { fontSize: fontSize(), color: MUTED },
                   splitLine: { lineStyle: { color: "rgba(255,255,255,0.08)" } } },
          yAxis: { type: "category", inverse: true, data: items.map(function (c) { return c.title; }),
                   axisLabel: { fontSize: fontSize(), color: TEXT, width: Math.min(14 * fontSize(), Math.round(0.4 * document.getElementById("chart-campaigns").clientWidth)),
                                      overflow: "truncate" } },
          series: [
            { name: "成团起订量", type: "bar", barGap: "-100%", barMaxWidth: 48,
              data: items.map(function (c) { return c.minimum_quantity; }) },
            { name: "已预订", type: "bar", barMaxWidth: 48, data: items.map(function (c) { return c.pledged_quantity; }),
              label: { show: true, position: "right", color: TEXT, fontSize: fontSize(), formatter: function (p) {
                var minimum = items[p.dataIndex].minimum_quantity;
                return p.value + " / " + minimum + "（" + Math.floor(100 * p.value / minimum) + "%）";
              } } }
          ]
        }, round);
      });
    },
    products: function (round) {
      return fetchJson("/products?gi_only=true&sort=best_selling&limit=12").then(function (page) {
        var list = document.getElementById("gi-products");
        var rows = page.items.map(function (product) {
          var li = document.createElement("li");
          li.className = "product";
          li.dataset.productId = String(product.id);
          addLine(li, "product-name", product.name);
          var origin = product.origin_district ? product.origin_district.name : "";
          addLine(li, "product-meta", [origin, product.supplier ? product.supplier.name : ""].filter(Boolean).join(" · "));
          addLine(li, "product-gi", product.gi_records.filter(function (r) { return r.status === "verified"; })
            .map(function (r) { return GI_SCHEMES[r.scheme] || r.scheme; }).join("、"));
          addLine(li, "product-price", product.min_price_fen === null ? DASH : fenText(product.min_price_fen) + " 起");
          if (product.supplier && product.supplier.name.indexOf("演示") >= 0) { demoSeen = true; }
          return li;
        });
        if (!rows.length) { rows = [emptyRow("暂无已核验的地理标志产品")]; }
        list.replaceChildren.apply(list, rows);
        list.dataset.rendered = String(round);
      });
    }
  };

  function addLine(parent, className, text) {
    var span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    parent.appendChild(span);
  }

  function emptyRow(text) {
    var li = document.createElement("li");
    li.className = "empty";
    li.textContent = text;
    return li;
  }

  var TARGETS = { district: "chart-district", supporter: "chart-supporter", pair: "chart-pair", month: "chart-month",
                  market: "chart-market", campaigns: "chart-campaigns", products: "gi-products" };
  var round = 0;

  function refresh() {
    round += 1;
    var current = round;
    failures = [];
    suppression.any = false;
    var names = Object.keys(panels);
    return Promise.all(names.map(function (name) {
      return panels[name](current).catch(function (error) {
        failures.push(PANEL_NAMES[name] + "（" + error.message + "）");
        if (name !== "products") { drawMessage(TARGETS[name], "数据暂不可用", current); }
        document.getElementById(TARGETS[name]).dataset.failed = error.message;
      });
    })).then(function () { finish(current); });
  }

  function finish(current) {
    var status = document.getElementById("status");
    status.textContent = failures.length ? "部分数据暂不可用：" + failures.join("，") : "";
    status.classList.toggle("error", failures.length > 0);
    var note = document.getElementById("suppression-note");
    if (suppression.minBuyers !== null) {
      note.textContent = "少于" + suppression.minBuyers + "个买家的数据不单独公布" +
        (suppression.any ? "（图中以“—”表示）" : "") + "。";
      note.hidden = false;
    }
    document.getElementById("demo-note").hidden = !demoSeen;
    document.getElementById("demo-badge").hidden = !demoSeen;
    document.getElementById("updated-at").textContent = new Date().toLocaleString("zh-CN", { hour12: false });
    body.dataset.refreshCount = String(current);
  }

  if (typeof echarts === "undefined") {
    document.getElementById("status").textContent = "图表库未能加载";
    return;
  }
  // The next round is scheduled when this one has finished: a slow API never stacks rounds up.
  (function loop() {
    refresh().then(function () { window.setTimeout(loop, REFRESH_SECONDS * 1000); });
  })();
})();
